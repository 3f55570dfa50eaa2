"""The sidecar index: where it lives, and that it answers only for the capture it was built from."""

from __future__ import annotations

import shutil
from pathlib import Path

from voxops.analysis.loader import analyse_capture, build_index, call_from_index
from voxops.capture.index import index_path, open_index

DATA = Path(__file__).resolve().parent.parent / "data" / "diagnosis"


def test_index_round_trip_and_invalidation(tmp_path):
    pcap = tmp_path / "c.pcap"
    shutil.copy(DATA / "pt18.pcap", pcap)
    analysis = analyse_capture(pcap)
    path = build_index(pcap, analysis)
    assert path == tmp_path / "c.pcap.voxidx"
    cid = analysis.dialogs[0].call_id
    dialogs, streams = call_from_index(pcap, cid)
    assert [d.call_id for d in dialogs] == [cid]
    assert [p.frame for p in dialogs[0].messages] == [p.frame for p in analysis.dialogs[0].messages]
    assert sorted(s.ssrc for s in streams) == sorted(s.ssrc for s in analysis.streams)
    shutil.copy(DATA / "clean.pcap", pcap)  # another capture under the same name
    assert open_index(pcap) is None


def test_read_only_folder_indexes_into_the_cache(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    shutil.copy(DATA / "clean.pcap", folder / "c.pcap")
    folder.chmod(0o555)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    try:
        where = index_path(folder / "c.pcap")
        assert where.is_relative_to(tmp_path / "cache")
        build_index(folder / "c.pcap", analyse_capture(folder / "c.pcap"))
        assert where.exists() and not list(folder.glob("*.voxidx"))
    finally:
        folder.chmod(0o755)
