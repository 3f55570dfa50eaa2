"""RTCP SR/RR decoding and the round-trip time from LSR/DLSR."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import pytest

from voxops.analysis.rtcp import RR, SR, collect_reports, far_end_views, parse_rtcp


def sender_report(ssrc: int, ntp_sec: int, ntp_frac: int) -> bytes:
    body = struct.pack("!IIIIII", ssrc, ntp_sec, ntp_frac, 1234, 50, 8000)
    return struct.pack("!BBH", 0x80, SR, len(body) // 4) + body


def receiver_report(ssrc: int, about: int, lost_fraction: int, cumulative: int, jitter: int,
                    lsr: int, dlsr: int) -> bytes:
    block = struct.pack("!IIIIII", about, (lost_fraction << 24) | (cumulative & 0xFFFFFF), 70000, jitter, lsr, dlsr)
    body = struct.pack("!I", ssrc) + block
    return struct.pack("!BBH", 0x81, RR, len(body) // 4) + body


@dataclass
class Datagram:
    frame: int
    ts: float
    src: str
    sport: int
    dst: str
    dport: int
    payload: bytes


def test_parse_compound_and_rtt():
    sr = sender_report(0xAAAA, 0x00012345, 0x80000000)
    lsr = ((0x00012345 & 0xFFFF) << 16) | 0x8000
    rr = receiver_report(0xBBBB, 0xAAAA, 64, 12, 400, lsr, 65536 // 10)  # DLSR 100 ms
    (kind, sender, ntp_mid, blocks), = parse_rtcp(sr)
    assert (kind, sender, ntp_mid, blocks) == (SR, 0xAAAA, lsr, [])
    (_, _, _, (block,)), = parse_rtcp(rr + b"\x81\xca\x00\x00")  # trailing SDES header is skipped
    assert block.fraction_lost == pytest.approx(0.25) and block.cumulative_lost == 12
    packets = [Datagram(1, 100.0, "a", 1, "b", 2, sr), Datagram(2, 100.180, "b", 2, "a", 1, rr)]
    view = far_end_views(collect_reports(packets))[0xAAAA]
    assert view.rtt_ms == [pytest.approx(80.0, abs=0.1)]
    assert view.jitter_max_ms(8000) == pytest.approx(50.0)


def test_truncated_rtcp_is_ignored():
    assert parse_rtcp(sender_report(1, 2, 3)[:20]) == []


def test_stream_carries_far_end_report(tmp_path):
    from tests.analysis.test_rtpstats import _udp_frame
    from voxops.analysis.streams import find_streams
    from voxops.capture import scan

    records = []
    t0 = 1_700_000_000.0
    for k in range(100):
        rtp = struct.pack("!BBHII", 0x80, 0, k, 160 * k, 0xAAAA) + b"\xff" * 160
        records.append((t0 + 0.02 * k, _udp_frame(4000, 7078, rtp)))
    sr = sender_report(0xAAAA, 0x00012345, 0x80000000)
    lsr = ((0x00012345 & 0xFFFF) << 16) | 0x8000
    rr = receiver_report(0xBBBB, 0xAAAA, 0, 0, 160, lsr, 65536 // 10)
    records += [(t0 + 1.0, _udp_frame(4001, 7079, sr)), (t0 + 1.4, _udp_frame(7079, 4001, rr))]
    records.sort(key=lambda r: r[0])
    pcap = tmp_path / "rtcp.pcap"
    with pcap.open("wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for when, data in records:
            sec = int(when)
            fh.write(struct.pack("<IIII", sec, int(round((when - sec) * 1e6)), len(data), len(data)) + data)
    (stream,) = find_streams(scan(pcap), [], heuristic=True)[0]
    assert stream.rtcp is not None
    assert stream.rtcp.rtt_ms == pytest.approx(300.0, abs=0.1)
    assert stream.rtcp.jitter_max_ms == pytest.approx(20.0)
    assert stream.r_factor < 93.2  # 150 ms one-way delay from the RTT lowers R
