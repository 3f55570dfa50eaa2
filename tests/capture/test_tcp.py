"""TCP stream reassembly for SIP: coalesced, split, retransmitted and reordered segments."""

from __future__ import annotations

import os
import struct

from tests.conftest import need_tool
from tests.support.capture import request, response, tshark_summary, voxops_summary
from voxops.capture import scan
from voxops.capture.writer import PcapWriter, tcp_frame

A, B = ("10.2.0.1", 40000), ("10.2.0.2", 5060)


def write_stream(path, segments):  # type: ignore[no-untyped-def]
    """segments: (from A?, seq offset, bytes, flags) with ISNs 1000 (A) and 5000 (B)."""
    with PcapWriter(path) as w:
        w.write(1700000000.0, tcp_frame(*A, *B, 999, b"", flags=0x02))
        w.write(1700000000.001, tcp_frame(*B, *A, 4999, b"", flags=0x12))
        for i, (from_a, off, data, flags) in enumerate(segments):
            src, dst, isn = (A, B, 1000) if from_a else (B, A, 5000)
            w.write(1700000000.01 + i / 100, tcp_frame(*src, *dst, isn + off, data, flags=flags))


def test_coalesced_split_and_retransmitted_segments_match_tshark(tmp_path):
    inv = request("INVITE", "tcp1@x", body="v=0\r\n" + "a=x:" + "q" * 500 + "\r\n")
    ring = response(180, "Ringing", "tcp1@x")
    ok = response(200, "OK", "tcp1@x")
    opt1, opt2 = request("OPTIONS", "tcp2@x"), request("OPTIONS", "tcp3@x", branch="z9hG4bK9")
    third = len(inv) // 3
    both = ring + ok
    a_stream = [
        (True, 0, inv[:third], 0x18),
        (True, third, inv[third : 2 * third], 0x18),
        (True, third, inv[third : 2 * third], 0x18),  # retransmission
        (True, 2 * third, inv[2 * third :], 0x18),
        (False, 0, both, 0x18),  # two messages in one segment
        (True, len(inv), opt1 + opt2[:10], 0x18),  # one and a bit
        (True, len(inv) + len(opt1) + 10, opt2[10:], 0x18),
    ]
    path = tmp_path / "tcp.pcap"
    write_stream(path, a_stream)
    result = scan(path)
    got = [(p.frame, p.msg.summary, p.msg.call_id, p.transport) for p in result.sip]
    assert got == [
        (6, "INVITE", "tcp1@x", "tcp"),
        (7, "180 Ringing", "tcp1@x", "tcp"),
        (7, "200 OK", "tcp1@x", "tcp"),
        (8, "OPTIONS", "tcp2@x", "tcp"),
        (9, "OPTIONS", "tcp3@x", "tcp"),
    ]
    assert result.sip[0].raw == inv
    assert set(result.sip[0].frames) >= {3, 4, 6}
    need_tool("tshark")
    assert voxops_summary(path) == tshark_summary(path)


def test_out_of_order_segments_are_reordered(tmp_path):
    inv = request("INVITE", "ooo@x")
    half = len(inv) // 2
    path = tmp_path / "ooo.pcap"
    write_stream(path, [(True, half, inv[half:], 0x18), (True, 0, inv[:half], 0x18)])
    result = scan(path)
    assert [p.raw for p in result.sip] == [inv]


def test_stream_joined_midway_resynchronises_on_a_start_line(tmp_path):
    tail = b"ength: 0\r\n\r\n"
    path = tmp_path / "mid.pcap"
    bye, ok = request("BYE", "mid@x"), request("INFO", "mid@x", cseq=3)
    first = b"an earlier message, its body and the end of its " * 3 + tail
    with PcapWriter(path) as w:
        w.write(1.0, tcp_frame(*A, *B, 777, first))
        w.write(2.0, tcp_frame(*A, *B, 777 + len(first), bye))
        w.write(3.0, tcp_frame(*A, *B, 777 + len(first) + len(bye), ok))
    assert [p.msg.method for p in scan(path).sip] == ["BYE", "INFO"]


def test_sip_over_websocket(tmp_path):
    upgrade = (b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Protocol: sip\r\n\r\n")
    msg = request("REGISTER", "ws@x")
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(msg))
    frame = bytes([0x81, 0x80 | 126]) + struct.pack("!H", len(msg)) + mask + masked
    path = tmp_path / "ws.pcap"
    write_stream(path, [(True, 0, upgrade, 0x18), (True, len(upgrade), frame, 0x18)])
    result = scan(path)
    assert [(p.msg.call_id, p.transport) for p in result.sip] == [("ws@x", "ws")]


def test_a_stream_that_is_not_sip_is_dropped_after_a_sniff(tmp_path):
    from voxops.capture.reassembly import SNIFF_BYTES, TcpReassembler

    r = TcpReassembler()
    for i in range(SNIFF_BYTES // 1000 + 2):
        assert r.add(("a", 1, "b", 2), 1000 * i, False, False, b"x" * 1000, i) == []
    stream = r.streams[("a", 1, "b", 2)]
    assert stream.is_sip is False and not stream.buf


def test_tls_stream_is_left_alone(tmp_path):
    path = tmp_path / "tls.pcap"
    write_stream(path, [(True, 0, b"\x16\x03\x01\x00\x50" + os.urandom(80), 0x18)])
    assert scan(path).sip == []
