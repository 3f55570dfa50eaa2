"""Hostile HEP: truncated, wrong lengths, unauthenticated, floods from outside the allow-list.
Each is counted under its reason and dropped; the listener goes on with the next packet."""

from __future__ import annotations

import contextlib
import ipaddress
import random
import selectors
import socket
import threading
import time

import pytest

from tests.conftest import free_port
from voxops.watch import hep
from voxops.watch.engine import Tracker
from voxops.watch.sources import AllowList, HepListener

SIP = (b"OPTIONS sip:a@127.0.31.9 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.31.8;branch=z9hG4bK1\r\n"
       b"Call-ID: hostile@test\r\nCSeq: 1 OPTIONS\r\nFrom: <sip:b@x>;tag=1\r\nTo: <sip:a@x>\r\n"
       b"Content-Length: 0\r\n\r\n")
GOOD = hep.encode_v3("127.0.31.8", 5060, "127.0.31.9", 5060, 1_700_000_000.5, SIP)


def _reason(data: bytes, secret: bytes | None = None) -> str:
    with pytest.raises(hep.HepError) as err:
        hep.decode(data, secret)
    return err.value.reason


def test_good_packets_decode_in_both_versions() -> None:
    v3 = hep.decode(GOOD)
    assert (v3.src, v3.sport, v3.dst, v3.transport, v3.ts, v3.payload) == (
        "127.0.31.8", 5060, "127.0.31.9", "udp", 1_700_000_000.5, SIP)
    v2 = hep.decode(hep.encode_v2("127.0.31.8", 5060, "127.0.31.9", 5062, 1_700_000_000.25, SIP))
    assert (v2.version, v2.dport, v2.ts, v2.payload) == (2, 5062, 1_700_000_000.25, SIP)


def test_each_malformed_shape_has_its_reason() -> None:
    assert _reason(GOOD[:3]) == "truncated"
    assert _reason(GOOD[:-5]) == "truncated"  # total length promises more than arrived
    assert _reason(GOOD + b"xx") == "bad_length"
    assert _reason(b"HEP3\x00\x02") == "bad_length"
    bad_chunk = bytearray(GOOD)
    bad_chunk[6 + 4 : 6 + 6] = (0xFFFF).to_bytes(2, "big")  # first chunk claims 64 KiB
    assert _reason(bytes(bad_chunk)) == "bad_chunk"
    zero_chunk = bytearray(GOOD)
    zero_chunk[6 : 6 + 2] = (0x1234).to_bytes(2, "big")  # a vendor chunk (skipped)...
    zero_chunk[6 + 4 : 6 + 6] = (0).to_bytes(2, "big")  # ...of length 0: no progress, never a loop
    assert _reason(bytes(zero_chunk)) == "bad_chunk"
    assert _reason(b"\x07" + GOOD[1:]) == "bad_version"
    assert _reason(hep.encode_v3("127.0.31.8", 1, "127.0.31.9", 2, 1.0, b"")) == "no_payload"
    assert _reason(GOOD, b"secret") == "auth"
    assert _reason(hep.encode_v3("127.0.31.8", 1, "127.0.31.9", 2, 1.0, SIP, secret=b"wrong"), b"secret") == "auth"
    assert hep.decode(hep.encode_v3("127.0.31.8", 1, "127.0.31.9", 2, 1.0, SIP, secret=b"s"), b"s").payload == SIP
    v2 = bytearray(hep.encode_v2("127.0.31.8", 5060, "127.0.31.9", 5062, 1.0, SIP))
    v2[1] = 200  # header length past the packet
    assert _reason(bytes(v2)) == "bad_length"


def test_random_garbage_never_escapes_as_another_error() -> None:
    rng = random.Random(20)
    for _ in range(20000):
        data = bytearray(GOOD)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        cut = bytes(data[: rng.randint(0, len(data))])
        with contextlib.suppress(hep.HepError):  # any other exception fails the test
            hep.decode(cut)


class _Running:
    def __init__(self, listener: HepListener) -> None:
        self.listener = listener
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        sel = selectors.DefaultSelector()
        self.listener.register(sel)
        while not self.stop.is_set():
            for key, _ in sel.select(0.05):
                key.data(key.fileobj)
            self.listener.poll()
        self.listener.close()


def _wait(check, seconds: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert check()


def test_a_live_listener_counts_and_drops_and_goes_on() -> None:
    host = "127.0.31.3"
    tracker = Tracker(lambda _done: None)
    allowed = AllowList([ipaddress.ip_network("127.0.31.4/32")])
    listener = HepListener(tracker, host, free_port(host), allow=allowed)
    run = _Running(listener)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as outsider:
            outsider.bind(("127.0.31.5", 0))  # not on the allow-list: a flood
            for _ in range(3000):
                outsider.sendto(GOOD, (host, listener.port))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as agent:
            agent.bind(("127.0.31.4", 0))
            for data in (GOOD[:10], GOOD + b"x", b"\x00" * 4, GOOD):
                agent.sendto(data, (host, listener.port))
        _wait(lambda: tracker.counts["hep"] == 1)
        with socket.create_connection((host, listener.port), source_address=("127.0.31.4", 0)) as tcp:
            tcp.sendall(GOOD + GOOD[:20])  # a whole frame, then half of one and the peer leaves
        _wait(lambda: tracker.counts["hep"] == 2 and listener.errors["truncated"] == 2)
        with socket.create_connection((host, listener.port), source_address=("127.0.31.4", 0)) as tcp:
            tcp.sendall(b"GET / HTTP/1.0\r\n\r\n")  # not HEP: the stream is dropped
            _wait(lambda: listener.errors["framing"] == 1)
            assert tcp.recv(10) == b""
        with socket.create_connection((host, listener.port), source_address=("127.0.31.5", 0)) as tcp:
            assert tcp.recv(10) == b""  # refused before reading
        _wait(lambda: listener.errors["not_allowed"] == 3001)
        assert listener.errors["bad_length"] == 1 and listener.errors["bad_version"] == 1
        assert tracker.counts["hep"] == 2  # only the two good packets reached the engine
    finally:
        run.stop.set()
        run.thread.join(timeout=5)
