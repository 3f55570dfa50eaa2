"""A test call through a media relay, without SIP: offer and answer over ng, then RTP both
ways between a socket on the relay's public side and one on its private side.

Used as the deploy gate of an SBC node: the relay answering ng ping is not enough, its
media path must carry packets each way. Both sockets bind the relay's own interface
addresses, so the check runs on the node itself.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import socket
import struct
import time

from pydantic import BaseModel

from voxops.probes import rtpengine_ng as ng

_MEDIA_RE = re.compile(rb"^m=audio (\d+) ", re.M)
_CONN_RE = re.compile(rb"^c=IN IP[46] (\S+)", re.M)


class RelayCall(BaseModel):
    """How many of the test packets crossed the relay each way."""

    sent_each_way: int
    to_private: int
    to_public: int

    @property
    def ok(self) -> bool:
        # a relay learning endpoints may drop the first packet or two of each direction
        return min(self.to_private, self.to_public) >= self.sent_each_way // 2


def _sdp(address: str, port: int, session: int) -> str:
    family = "IP6" if ":" in address else "IP4"
    return (f"v=0\r\no=voxops-gate {session} 1 IN {family} {address}\r\ns=-\r\nc=IN {family} {address}\r\n"
            f"t=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n")


def _relay_end(reply: dict[bytes, ng.Bencoded], what: str) -> tuple[str, int]:
    if reply.get(b"result") != b"ok":
        raise ng.NgError(f"the relay refused the test call's {what}: {ng.result(reply)}")
    sdp = reply.get(b"sdp")
    media = _MEDIA_RE.search(sdp) if isinstance(sdp, bytes) else None
    conn = _CONN_RE.search(sdp) if isinstance(sdp, bytes) else None
    if not (media and conn):
        raise ng.NgError(f"the relay's {what} SDP names no audio address")
    return conn.group(1).decode("ascii", "replace"), int(media.group(1))


def _rtp(seq: int, ssrc: int) -> bytes:
    return struct.pack("!BBHII", 0x80, 0, seq, seq * 160, ssrc) + b"\xff" * 160


def open_relay_call(ng_host: str, ng_port: int, call_id: str, outside: socket.socket, inside: socket.socket,
                    *, timeout: float = 3.0) -> tuple[tuple[str, int], tuple[str, int]]:
    """Offer from `outside` (public side), answer from `inside` (private side): where each
    must send its RTP, (toward the public side's peer, toward the private side's peer)."""
    public, private = outside.getsockname()[0], inside.getsockname()[0]
    session = int.from_bytes(os.urandom(3), "big")
    base = {"call-id": call_id, "from-tag": "gate-carrier"}
    offer = ng.command(ng_host, ng_port, {**base, "command": "offer", "direction": ["public", "private"],
                                          "sdp": _sdp(public, outside.getsockname()[1], session)}, timeout=timeout)
    to_private = _relay_end(offer, "offer")
    answer = ng.command(ng_host, ng_port, {**base, "command": "answer", "to-tag": "gate-agent",
                                           "sdp": _sdp(private, inside.getsockname()[1], session + 1)}, timeout=timeout)
    return _relay_end(answer, "answer"), to_private


def close_relay_call(ng_host: str, ng_port: int, call_id: str, *, timeout: float = 3.0) -> None:
    with contextlib.suppress(ng.NgError):  # else the relay's own timeout ends it
        ng.command(ng_host, ng_port, {"command": "delete", "call-id": call_id, "from-tag": "gate-carrier"},
                   timeout=timeout)


def place_test_call(ng_host: str, ng_port: int, public: str, private: str, *, packets: int = 25,
                    timeout: float = 3.0) -> RelayCall:
    """Place one relay-only call between `public` and `private` and count what crosses."""
    family = socket.AF_INET6 if ":" in public else socket.AF_INET
    call_id = f"voxops-gate-{os.urandom(6).hex()}"
    with socket.socket(family, socket.SOCK_DGRAM) as outside, socket.socket(family, socket.SOCK_DGRAM) as inside:
        outside.bind((public, 0))
        inside.bind((private, 0))
        try:
            to_public, to_private = open_relay_call(ng_host, ng_port, call_id, outside, inside, timeout=timeout)
            got = _exchange(outside, inside, to_public, to_private, packets, timeout)
        finally:
            close_relay_call(ng_host, ng_port, call_id, timeout=timeout)
    return RelayCall(sent_each_way=packets, to_private=got[1], to_public=got[0])


def _exchange(outside: socket.socket, inside: socket.socket, to_public: tuple[str, int],
              to_private: tuple[str, int], packets: int, timeout: float) -> tuple[int, int]:
    """Send `packets` RTP packets each way, 20 ms apart; (received outside, received inside)."""
    received = {outside: 0, inside: 0}
    with selectors.DefaultSelector() as sel:
        for sock in received:
            sock.setblocking(False)
            sel.register(sock, selectors.EVENT_READ)
        deadline = time.monotonic() + packets * 0.02 + timeout
        for seq in range(packets):
            outside.sendto(_rtp(seq, 0x766F7801), to_public)
            inside.sendto(_rtp(seq, 0x766F7802), to_private)
            _drain(sel, received, 0.02)
        while time.monotonic() < deadline and min(received.values()) < packets:
            _drain(sel, received, 0.05)
    return received[outside], received[inside]


def _drain(sel: selectors.BaseSelector, received: dict[socket.socket, int], wait: float) -> None:
    for key, _ in sel.select(wait):
        sock = key.fileobj
        assert isinstance(sock, socket.socket)
        try:
            while True:
                data = sock.recv(2048)
                if len(data) >= 12 and data[0] >> 6 == 2:
                    received[sock] += 1
        except (BlockingIOError, ConnectionRefusedError):
            pass
