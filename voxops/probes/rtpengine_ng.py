"""A small client of rtpengine's ng control protocol: bencode over UDP, bounded.

A message is `COOKIE SPACE BENCODED-DICT`; the reply carries the same cookie. The
decoder takes only what a reply can hold (byte strings, integers, lists, dictionaries),
refuses anything deeper than MAX_DEPTH or longer than MAX_REPLY_BYTES, and every wait
ends at a deadline, so a hostile or broken peer costs at most one timeout.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping

from voxops.errors import InvalidInput

MAX_REPLY_BYTES = 32_768
MAX_DEPTH = 16
MAX_ITEMS = 10_000

Bencoded = bytes | int | list["Bencoded"] | dict[bytes, "Bencoded"]


class NgError(Exception):
    """The relay did not answer, or answered something that is not an ng reply."""


def encode(value: object) -> bytes:
    """Bencode str/bytes, int (not bool), list/tuple and dicts with str/bytes keys (sorted)."""
    if isinstance(value, bool):
        raise TypeError("bencode has no booleans")
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, (list, tuple)):
        return b"l" + b"".join(encode(v) for v in value) + b"e"
    if isinstance(value, Mapping):
        items = sorted(((k.encode() if isinstance(k, str) else k), v) for k, v in value.items())
        return b"d" + b"".join(encode(k) + encode(v) for k, v in items) + b"e"
    raise TypeError(f"cannot bencode a {type(value).__name__}")


def decode(data: bytes) -> Bencoded:
    """One bencoded value that spans all of `data`."""
    value, end = _decode(data, 0, 0, [0])
    if end != len(data):
        raise NgError(f"{len(data) - end} stray bytes after the reply")
    return value


def _decode(data: bytes, pos: int, depth: int, count: list[int]) -> tuple[Bencoded, int]:
    if depth > MAX_DEPTH:
        raise NgError(f"reply nested deeper than {MAX_DEPTH}")
    count[0] += 1
    if count[0] > MAX_ITEMS:
        raise NgError(f"reply holds more than {MAX_ITEMS} items")
    if pos >= len(data):
        raise NgError("reply ends inside a value")
    lead = data[pos:pos + 1]
    if lead == b"i":
        end = data.find(b"e", pos + 1, pos + 24)
        text = data[pos + 1:end] if end > 0 else b""
        if not text or not text.lstrip(b"-").isdigit():
            raise NgError(f"bad integer at byte {pos}")
        return int(text), end + 1
    if lead in (b"l", b"d"):
        pos += 1
        items: list[Bencoded] = []
        while pos < len(data) and data[pos:pos + 1] != b"e":
            item, pos = _decode(data, pos, depth + 1, count)
            items.append(item)
        if pos >= len(data):
            raise NgError("reply ends inside a list or dictionary")
        if lead == b"l":
            return items, pos + 1
        keys = items[0::2]
        if len(items) % 2 or not all(isinstance(k, bytes) for k in keys):
            raise NgError("a dictionary whose keys are not all strings")
        return dict(zip(keys, items[1::2], strict=True)), pos + 1  # type: ignore[arg-type]
    colon = data.find(b":", pos, pos + 12)
    length = data[pos:colon] if colon > 0 else b""
    if not length.isdigit():
        raise NgError(f"bad string length at byte {pos}")
    start = colon + 1
    end = start + int(length)
    if end > len(data):
        raise NgError("a string runs past the end of the reply")
    return data[start:end], end


def text(value: Bencoded | None) -> str:
    """A reply string for display: printable ASCII only, at most 200 characters."""
    if isinstance(value, bytes):
        shown = "".join(c if 32 <= ord(c) < 127 else "?" for c in value.decode("latin-1"))
        return shown[:200]
    return "" if value is None else str(value)[:200]


def command(host: str, port: int, message: Mapping[str, object], *, timeout: float = 1.0) -> dict[bytes, Bencoded]:
    """Send one ng command and return its reply dictionary; NgError on silence or garbage.

    Replies with another cookie (late answers to an earlier command, spoofed datagrams) are
    skipped until the deadline."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0][0]
    except (OSError, UnicodeError) as exc:
        raise InvalidInput(f"cannot resolve relay address {host!r}: {exc}") from None
    cookie = os.urandom(6).hex().encode()
    payload = cookie + b" " + encode(message)
    deadline = time.monotonic() + timeout
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect((host, port))
            sock.send(payload)
        except OSError as exc:
            raise NgError(f"cannot send to the relay at {host}:{port}: {exc.strerror}") from None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise NgError(f"no answer from the relay at {host}:{port} within {timeout:g} s")
            sock.settimeout(left)
            try:
                data = sock.recv(MAX_REPLY_BYTES + 1)
            except TimeoutError:
                continue
            except OSError as exc:  # ICMP port unreachable: nothing listens there
                raise NgError(f"the relay at {host}:{port} is not listening ({exc.strerror})") from None
            if len(data) > MAX_REPLY_BYTES:
                raise NgError(f"reply from {host}:{port} larger than {MAX_REPLY_BYTES} bytes")
            head, _, body = data.partition(b" ")
            if head != cookie:
                continue
            reply = decode(body)
            if not isinstance(reply, dict):
                raise NgError(f"reply from {host}:{port} is not a dictionary")
            return reply


def ping(host: str, port: int, *, timeout: float = 1.0) -> None:
    """NgError unless the relay answers `ping` with `pong`."""
    reply = command(host, port, {"command": "ping"}, timeout=timeout)
    if reply.get(b"result") != b"pong":
        raise NgError(f"relay at {host}:{port} answered ping with {text(reply.get(b'result'))!r} "
                      f"{text(reply.get(b'error-reason'))}".rstrip())


def result(reply: Mapping[bytes, Bencoded]) -> str:
    """The reply's result ('ok', 'pong', 'error' ...), with the error reason when there is one."""
    outcome = text(reply.get(b"result"))
    if outcome == "error":
        return f"error: {text(reply.get(b'error-reason'))}"
    return outcome
