"""The ng client: bencode both ways, and a relay that answers garbage, late, huge, deep,
with someone else's cookie or not at all costs one bounded timeout and one clear error."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from voxops.probes import rtpengine_ng as ng

HOST = "127.0.23.200"


def test_bencode_round_trip() -> None:
    message = {"command": "offer", "flags": ["trust-address"], "n": -3, "nested": {"b": [1, b"x"]}}
    data = ng.encode(message)
    assert data == b"d7:command5:offer5:flagsl13:trust-addresse1:ni-3e6:nestedd1:bli1e1:xeee"
    assert ng.decode(data) == {b"command": b"offer", b"flags": [b"trust-address"], b"n": -3,
                               b"nested": {b"b": [1, b"x"]}}


@pytest.mark.parametrize("data", [
    b"", b"i12", b"ie", b"i1x2e", b"5:abc", b"99999999999999:a", b"l" * 40 + b"e" * 40, b"d1:ae",
    b"di1ei2ee", b"d1:a1:be junk", b"x", b"-1:a", b"l" + b"i1e" * 20_000 + b"e",
], ids=["empty", "open-int", "empty-int", "bad-int", "short-string", "huge-length", "deep",
        "odd-dict", "int-keys", "trailing", "unknown", "negative-length", "too-many-items"])
def test_hostile_bencode_is_refused(data: bytes) -> None:
    with pytest.raises(ng.NgError):
        ng.decode(data)


def _serve(reply: Callable[[bytes], list[bytes]]) -> Iterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((HOST, 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(65535)
            except TimeoutError:
                continue
            for answer in reply(data):
                sock.sendto(answer, peer)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        sock.close()


def _cookie(data: bytes) -> bytes:
    return data.split(b" ", 1)[0]


@pytest.fixture
def relay(request) -> Iterator[int]:
    yield from _serve(request.param)


GOOD = b"d6:result4:ponge"
REPLIES = {
    "silent": lambda d: [],
    "other-cookie": lambda d: [b"nope " + GOOD],
    "garbage": lambda d: [_cookie(d) + b" \x00\xff\xfe"],
    "not-a-dict": lambda d: [_cookie(d) + b" l4:ponge"],
    "deep": lambda d: [_cookie(d) + b" " + b"l" * 500 + b"e" * 500],
    # a well-formed pong, padded past the size cap
    "oversized": lambda d: [_cookie(d) + b" d5:extra40000:" + b"x" * 40_000 + b"6:result4:ponge"],
    "wrong-result": lambda d: [_cookie(d) + b" d6:result5:error12:error-reason8:\x1b[31mbade"],
}


@pytest.mark.parametrize("relay", list(REPLIES.values()), ids=list(REPLIES), indirect=True)
def test_a_hostile_relay_gives_one_bounded_error(relay: int) -> None:
    start = time.monotonic()
    with pytest.raises(ng.NgError) as exc:
        ng.ping(HOST, relay, timeout=0.5)
    assert time.monotonic() - start < 1.5
    message = str(exc.value)
    assert "\n" not in message and "\x1b" not in message and len(message) < 300, message


@pytest.mark.parametrize("relay", [lambda d: [b"stale " + GOOD, _cookie(d) + b" " + GOOD]], indirect=True)
def test_a_stale_reply_is_skipped_for_the_right_one(relay: int) -> None:
    ng.ping(HOST, relay, timeout=1.0)


def test_nothing_listening_is_an_error_not_a_hang() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        port = s.getsockname()[1]
    with pytest.raises(ng.NgError):
        ng.ping(HOST, port, timeout=0.5)
