"""`export` and `stats --format png` write through the temporary file they created: a
symbolic link swapped in at its name while they write redirects nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from voxops import output_file
from voxops.analysis.ladder import call_frames
from voxops.analysis.loader import analyse_capture
from voxops.analysis.policy import Policy
from voxops.analysis.trunkstats import stats_report
from voxops.capture.cutter import copy_frames
from voxops.capture.engines import Engine
from voxops.errors import EnvironmentProblem
from voxops.views.ladder import load_call
from voxops.views.stats_png import write_stats_png

DATA = Path(__file__).resolve().parent / "data" / "diagnosis"
SECRET = b"the victim's own content\n"


@pytest.fixture
def swapped(tmp_path, monkeypatch):
    """The victim file a link planted at each new temporary name points to."""
    victim = tmp_path / "elsewhere" / "victim"
    victim.parent.mkdir()
    victim.write_bytes(SECRET)
    create = output_file._create_temp

    def create_then_swap(dir_fd: int, name: str, shown: Path | str) -> tuple[int, str]:
        fd, tmp = create(dir_fd, name, shown)
        os.unlink(tmp, dir_fd=dir_fd)
        os.symlink(victim, tmp, dir_fd=dir_fd)
        return fd, tmp

    monkeypatch.setattr(output_file, "_create_temp", create_then_swap)
    return victim


def test_export_does_not_write_through_a_swapped_link(tmp_path, swapped):
    pcap = DATA / "clean.pcap"
    call_id = analyse_capture(pcap).dialogs[0].call_id
    dialogs, udp = load_call(pcap, [call_id], (), engine=Engine.native, tls_keylog=None, warn=print)
    out = tmp_path / "call.pcap"
    with pytest.raises(EnvironmentProblem, match="replaced while writing"):
        copy_frames(pcap, call_frames(dialogs, udp), out)
    assert swapped.read_bytes() == SECRET
    assert not out.exists() and os.listdir(tmp_path) == ["elsewhere"]


def test_stats_png_does_not_write_through_a_swapped_link(tmp_path, swapped):
    analysis = analyse_capture(DATA / "clean.pcap")
    report = stats_report("clean.pcap", analysis.dialogs, analysis.streams, Policy())
    out = tmp_path / "stats.png"
    with pytest.raises(EnvironmentProblem, match="replaced while writing"):
        write_stats_png(report, None, out)
    assert swapped.read_bytes() == SECRET
    assert not out.exists()


def test_export_and_png_still_write_their_files(tmp_path):
    pcap = DATA / "clean.pcap"
    analysis = analyse_capture(pcap)
    dialogs, udp = load_call(pcap, [analysis.dialogs[0].call_id], (), engine=Engine.native, tls_keylog=None, warn=print)
    assert copy_frames(pcap, call_frames(dialogs, udp), tmp_path / "call.pcap") > 0
    assert (tmp_path / "call.pcap").read_bytes()[:4] == b"\xd4\xc3\xb2\xa1"
    report = stats_report("clean.pcap", analysis.dialogs, analysis.streams, Policy())
    write_stats_png(report, None, tmp_path / "stats.png")
    assert (tmp_path / "stats.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(tmp_path)) == ["call.pcap", "stats.png"]
