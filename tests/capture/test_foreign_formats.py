"""A capture in a format tshark reads and the native reader does not (Microsoft NetMon,
made here by editcap from our own pcap) is read through tshark with a note."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import need_tool
from voxops.capture.writer import write_sip_calls


@pytest.fixture
def netmon(tmp_path: Path) -> Path:
    editcap = need_tool("editcap")
    need_tool("tshark")
    write_sip_calls(tmp_path / "calls.pcap", 3)
    out = tmp_path / "calls.cap"
    subprocess.run([editcap, "-F", "netmon2", str(tmp_path / "calls.pcap"), str(out)], check=True, timeout=60)
    assert out.read_bytes()[:4] == b"GMBU"
    return out


def test_a_netmon_capture_is_read_through_tshark_with_a_note(cli, netmon: Path) -> None:
    code, out, err = cli("calls", netmon, "--format", "json")
    assert code == 0, err
    listed = json.loads(out)
    calls = listed["calls"] if isinstance(listed, dict) else listed
    assert sorted(c["call_id"] for c in calls) == ["call-0@x", "call-1@x", "call-2@x", "leg-0@b2b"]
    assert "Microsoft NetMon 2 capture, read with the tshark engine" in err
    code, out, err = cli("stats", netmon, "--format", "json")
    assert code == 0 and json.loads(out)["calls"] == 3 and "NetMon" in err


def test_a_netmon_capture_without_tshark_says_what_to_install(cli, netmon: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(netmon.parent))
    code, out, err = cli("calls", netmon)
    assert code == 3 and out == ""
    assert "Microsoft NetMon 2" in err and "tshark" in err and "Traceback" not in err


def test_an_unknown_format_is_still_a_clear_invalid_input(cli, tmp_path: Path) -> None:
    (tmp_path / "x.cap").write_bytes(b"NOPE" + bytes(60))
    code, _, err = cli("calls", tmp_path / "x.cap")
    assert code == 2 and "not a pcap or pcapng capture" in err


def test_a_gzipped_netmon_capture_is_told_by_its_decompressed_bytes(cli, netmon: Path, tmp_path: Path) -> None:
    import gzip

    packed = tmp_path / "calls.cap.gz"
    packed.write_bytes(gzip.compress(netmon.read_bytes()))
    code, out, err = cli("stats", packed, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["calls"] == 3 and "NetMon" in err
