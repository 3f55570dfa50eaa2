"""SIP OPTIONS requests and response matching, against SIPp and raw sockets on 127.0.7.x."""

from __future__ import annotations

import socket
import threading
import time

from tests.support.probe_peers import addr, blackhole, port_on, sipp_uas
from voxops.probes.sip_options import parse_response, send_options


def test_sipp_uas_answers_over_udp_and_tcp(tmp_path):
    host = addr(10)
    udp, tcp = port_on(host), port_on(host)
    with sipp_uas(host, udp, tmp_path), sipp_uas(host, tcp, tmp_path, transport="t1"):
        over_udp = send_options(host, udp, "udp", timeout=2)
        over_tcp = send_options(host, tcp, "tcp", timeout=2)
    assert over_udp.code == 200 and over_udp.error is None
    assert over_udp.rtt_ms is not None and 0 < over_udp.rtt_ms < 2000
    assert over_tcp.code == 200 and over_tcp.rtt_ms is not None


def test_closed_ports_are_refused_not_timed_out():
    host = addr(11)
    port = port_on(host)
    for transport in ("udp", "tcp", "tls"):
        started = time.monotonic()
        result = send_options(host, port, transport, timeout=2)
        assert result.code is None
        assert result.error == "connection refused"
        assert time.monotonic() - started < 1.0


def test_silence_is_a_timeout_with_rfc3261_retransmissions():
    with blackhole(addr(12)) as (port, received):
        started = time.monotonic()
        result = send_options(addr(12), port, "udp", timeout=1.2)
        elapsed = time.monotonic() - started
    assert result.code is None and result.error == "timeout"
    assert 1.1 < elapsed < 2.0
    # T1 = 0.5 s doubling: sent at 0 s and 0.5 s within a 1.2 s timeout
    assert len(received) == 2
    assert received[0] == received[1]  # a retransmission is the same request, from the same port
    head = received[0][0].decode()
    sender = received[0][1]
    lines = head.split("\r\n")
    assert lines[0] == f"OPTIONS sip:{addr(12)}:{port} SIP/2.0"
    headers = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in lines[1:] if ":" in line}
    via = headers["Via"]
    assert via.startswith(f"SIP/2.0/UDP {sender[0]}:{sender[1]};")
    assert ";rport" in via and ";branch=z9hG4bK" in via
    assert headers["Max-Forwards"] == "70"
    assert ";tag=" in headers["From"]
    assert headers["Call-ID"] and headers["CSeq"] == "1 OPTIONS"
    assert headers["Contact"].startswith("<sip:")
    assert headers["Content-Length"] == "0"
    assert head.endswith("\r\n\r\n")


def test_fresh_branch_and_call_id_per_request():
    with blackhole(addr(13)) as (port, received):
        send_options(addr(13), port, "udp", timeout=0.2)
        send_options(addr(13), port, "udp", timeout=0.2)
    first, second = (parse_request_headers(data) for data, _ in received[:2])
    assert first["Via"] != second["Via"] and first["Call-ID"] != second["Call-ID"]


def parse_request_headers(data: bytes) -> dict[str, str]:
    lines = data.decode().split("\r\n")[1:]
    return {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in lines if ":" in line}


def test_only_the_matching_response_counts():
    """A stray reply (other branch) and a 100 Trying are skipped; the matching final wins."""
    host = addr(14)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    port = sock.getsockname()[1]

    def answer() -> None:
        data, peer = sock.recvfrom(65535)
        h = parse_request_headers(data)
        common = f"From: {h['From']}\r\nTo: {h['To']};tag=x\r\nCall-ID: {h['Call-ID']}\r\n"
        wrong = h["Via"].replace("branch=z9hG4bK", "branch=z9hG4bKold")
        sock.sendto(f"SIP/2.0 503 Old\r\nVia: {wrong}\r\n{common}CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n".encode(), peer)
        sock.sendto(f"SIP/2.0 100 Trying\r\nVia: {h['Via']}\r\n{common}CSeq: 1 OPTIONS\r\nl: 0\r\n\r\n".encode(), peer)
        time.sleep(0.6)  # past T1: a provisional reply must have stopped retransmissions
        sock.sendto(f"SIP/2.0 404 Not Here\r\nv: {h['Via']}\r\ni: {h['Call-ID']}\r\nCSeq: 1 OPTIONS\r\nServer: test-uas\r\nContent-Length: 0\r\n\r\n".encode(), peer)

    thread = threading.Thread(target=answer)
    thread.start()
    try:
        result = send_options(host, port, "udp", timeout=2)
    finally:
        thread.join(timeout=3)
        sock.settimeout(0.2)
        extra = []
        try:
            while True:
                extra.append(sock.recv(65535))
        except OSError:
            pass
        sock.close()
    assert result.code == 404 and result.reason == "Not Here" and result.server == "test-uas"
    assert result.rtt_ms is not None and result.rtt_ms >= 600
    assert extra == []  # no retransmission after the 100 Trying


def test_parse_response_rejects_requests_and_garbage():
    assert parse_response(b"OPTIONS sip:a SIP/2.0\r\n\r\n") is None
    assert parse_response(b"\x00\x01garbage") is None
    resp = parse_response(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1,\r\n SIP/2.0/UDP b\r\n\r\n")
    assert resp is not None and resp.code == 200 and resp.reason == "OK"
    assert resp.headers["via"] == ["SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b"]
