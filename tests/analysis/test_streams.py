"""Every stream `tshark -q -z rtp,streams` lists is found with the same figures."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import need_tool, shared_pcap
from voxops.analysis.dialogs import build_dialogs
from voxops.analysis.streams import find_streams
from voxops.capture import scan

DATA = Path(__file__).resolve().parent.parent / "data" / "diagnosis"
ROW = re.compile(
    r"^\s*(\S+)\s+(\S+)\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(0x[0-9A-Fa-f]+)\s+(.+?)\s+(\d+)\s+(-?\d+) \(\S+%\)"
    r"\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)"
)


def tshark_streams(path: Path, extra: list[str]) -> dict[tuple[str, str, int], dict[str, float]]:
    out = subprocess.run(
        [need_tool("tshark"), "-r", str(path), *extra, "-q", "-z", "rtp,streams"],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    streams = {}
    for line in out.splitlines():
        m = ROW.match(line)
        if m:
            g = m.groups()
            streams[(f"{g[2]}:{g[3]}", f"{g[4]}:{g[5]}", int(g[6], 16))] = {
                "packets": int(g[8]), "lost": int(g[9]), "min_delta_ms": float(g[10]),
                "mean_delta_ms": float(g[11]), "max_delta_ms": float(g[12]), "min_jitter_ms": float(g[13]),
                "mean_jitter_ms": float(g[14]), "max_jitter_ms": float(g[15]),
            }
    return streams


CASES = [
    ("sip-rtp-ilbc.pcap", []),
    ("sip-rtp-l16.pcap", []),
    ("sipp_uac_Media_DTMF_Speex.pcap", []),
    ("sipp_uac_ssrc_change.pcap", ["--enable-heuristic", "rtp_udp"]),
    ("mario_choppy_speech.pcap", ["--enable-heuristic", "rtp_udp"]),
    ("rtp_pcmu_recv.pcap", ["--enable-heuristic", "rtp_udp"]),
    # tshark gives port 3000 to another dissector: decode it as RTP to compare
    ("RTP_2min_cisco_hold.pcap", ["-d", "udp.port==3000,rtp"]),
]
OWN = ["clean", "one_way", "pt18", "loss5", "pdd3s", "private_media"]


def _compare(path: Path, extra: list[str]) -> int:
    reference = tshark_streams(path, extra)
    result = scan(path)
    streams, _ = find_streams(result, build_dialogs(result.sip), heuristic=bool(extra))
    ours = {(s.src, s.dst, s.ssrc): s for s in streams}
    assert reference, "tshark listed no stream"
    for key, ref in reference.items():
        assert key in ours, f"{key} not found"
        s = ours[key]
        assert (s.packets, s.lost) == (ref["packets"], ref["lost"]), key
        if s.telephone_events:  # tshark times RFC 4733 packets as voice; we leave them out
            assert s.max_jitter_ms <= ref["max_jitter_ms"] + 0.01 and s.max_delta_ms <= ref["max_delta_ms"] + 0.01
            continue
        assert_same_figures(s, ref, key)
    return len(reference)


def assert_same_figures(stream, ref: dict[str, float], key: object) -> None:
    """Delta and jitter figures within 0.01 ms (tshark prints three decimals)."""
    for name in ("min_delta_ms", "mean_delta_ms", "max_delta_ms", "min_jitter_ms", "mean_jitter_ms",
                 "max_jitter_ms"):
        ours = getattr(stream, name)
        assert ours == pytest.approx(ref[name], abs=0.01), (key, name)


@pytest.mark.parametrize(("name", "extra"), CASES, ids=[c[0] for c in CASES])
def test_shared_captures_match_tshark(name, extra):
    _compare(shared_pcap(name), extra)


@pytest.mark.parametrize("name", OWN)
def test_generated_captures_match_tshark(name):
    _compare(DATA / f"{name}.pcap", [])


def test_streams_belong_to_their_call():
    result = scan(DATA / "clean.pcap")
    dialogs = build_dialogs(result.sip)
    streams, _ = find_streams(result, dialogs)
    assert len(streams) == 2
    assert {s.call_id for s in streams} == {dialogs[0].call_id}
    assert all(s.found_by == "sdp" and s.codec == "PCMU" and s.mos == 4.41 for s in streams)


def test_heuristic_is_off_unless_asked():
    result = scan(shared_pcap("mario_choppy_speech.pcap"))
    assert find_streams(result, [])[0] == []
    assert len(find_streams(result, [], heuristic=True)[0]) == 1
