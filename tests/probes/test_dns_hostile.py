"""`voxops dns` against hostile resolvers on loopback (tiny dnspython servers in threads):
one that closes TCP in the middle of an answer, one whose SRV record names 2,000 targets."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

import dns.flags
import dns.message
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from tests.probes.specs import write_probe_spec
from tests.support.probe_peers import addr

SRV = "_sip._udp.sbc.probe.test"
NODES = [{"name": "sbc-1", "address": addr(31)}]
Answer = Callable[[dns.message.Message], dns.message.Message]


def serve_udp(sock: socket.socket, answer: Answer, stop: threading.Event) -> None:
    sock.settimeout(0.1)
    while not stop.is_set():
        try:
            wire, peer = sock.recvfrom(4096)
        except TimeoutError:
            continue
        with contextlib.suppress(Exception):
            sock.sendto(answer(dns.message.from_wire(wire)).to_wire(max_size=65000), peer)


def serve_tcp_cut(listener: socket.socket, answer: Answer, stop: threading.Event) -> None:
    """Read one query, announce the whole answer, send half of it, close."""
    listener.settimeout(0.1)
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        with conn, contextlib.suppress(OSError):
            conn.settimeout(2)
            size = struct.unpack("!H", conn.recv(2))[0]
            query = dns.message.from_wire(conn.recv(size))
            wire = answer(query).to_wire()
            conn.sendall(struct.pack("!H", len(wire)) + wire[: len(wire) // 2])


@contextlib.contextmanager
def resolver(host: str, udp_answer: Answer, tcp_answer: Answer | None = None) -> Iterator[int]:
    """A resolver on host: UDP answers from `udp_answer`, TCP cut short; yields its port."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((host, 0))
    port = udp.getsockname()[1]
    tcp = socket.create_server((host, port))
    stop = threading.Event()
    threads = [threading.Thread(target=serve_udp, args=(udp, udp_answer, stop), daemon=True)]
    if tcp_answer is not None:
        threads.append(threading.Thread(target=serve_tcp_cut, args=(tcp, tcp_answer, stop), daemon=True))
    for t in threads:
        t.start()
    try:
        yield port
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=2)
        udp.close()
        tcp.close()


def a_record(query: dns.message.Message) -> dns.message.Message:
    reply = dns.message.make_response(query)
    q = query.question[0]
    if q.rdtype == dns.rdatatype.A:
        reply.answer.append(dns.rrset.from_text(q.name, 30, "IN", "A", addr(31)))
    return reply


def truncated(query: dns.message.Message) -> dns.message.Message:
    reply = dns.message.make_response(query)
    reply.flags |= dns.flags.TC
    return reply


# 2,000 targets; SRV targets are not compressed (RFC 2782): short names keep it in one datagram
TARGETS = dns.rrset.from_text_list(SRV + ".", 30, "IN", "SRV", [f"10 1 5060 {i}.t." for i in range(2000)])


def srv_fan_out(query: dns.message.Message) -> dns.message.Message:
    if query.question[0].rdtype != dns.rdatatype.SRV:
        return a_record(query)
    reply = dns.message.make_response(query)
    reply.answer.append(TARGETS)
    return reply


def test_vantage_closing_tcp_mid_answer_is_that_vantages_error(tmp_path, cli):
    good_host, cut_host = addr(61), addr(62)
    with resolver(good_host, a_record) as good_port, resolver(cut_host, truncated, a_record) as cut_port:
        spec = write_probe_spec(tmp_path, nodes=NODES, dns={
            "vantages": [{"name": "good", "address": good_host, "port": good_port},
                         {"name": "cut", "address": cut_host, "port": cut_port}],
            "records": [{"name": "sbc-1.probe.test", "type": "A", "expect": [addr(31)]}],
            "timeout_s": 2.0,
        })
        code, out, err = cli("dns", spec, "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    answers = {v["vantage"]: v for v in report["records"][0]["vantages"]}
    assert answers["good"]["answers"] == [addr(31)] and answers["good"]["error"] is None
    assert answers["cut"]["error"] and "EOF" in answers["cut"]["error"]
    assert [f["code"] for f in report["findings"]] == ["dns-vantage-timeout"]


def test_srv_with_2000_targets_is_capped_within_the_timeout(tmp_path, cli):
    host = addr(63)
    # dnspython alone takes one to several seconds (machine load) to parse 2,000 records
    timeout = 10.0
    with resolver(host, srv_fan_out) as port:
        spec = write_probe_spec(tmp_path, nodes=NODES, dns={
            "vantages": [{"name": "v", "address": host, "port": port}],
            "records": [{"name": SRV, "type": "SRV", "expect": []}],
            "timeout_s": timeout,
        })
        started = time.monotonic()
        code, out, err = cli("dns", spec, "--format", "json")
        elapsed = time.monotonic() - started
    assert code in (0, 1), err
    assert elapsed < timeout + 2, f"took {elapsed:.1f} s"
    answer = json.loads(out)["records"][0]["vantages"][0]
    assert len(answer["answers"]) == 2000
    followed = answer["srv_targets"]
    assert 0 < len(followed) <= 64, len(followed)  # a handful of targets, not a flood of queries
    assert answer.get("srv_targets_skipped") == 2000 - len(followed)
    assert all(addrs == [addr(31)] for addrs in followed.values())
