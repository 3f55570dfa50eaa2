"""A scripted SBC-side peer for `probe --call` tests: answers INVITEs over UDP (180, then
200 with an SDP answer), echoes RTP back after a delay, dropping some packets or all of
them, and can first send a hostile reply (another Call-ID, a garbage datagram)."""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass
class CallPeer:
    address: str
    ring_ms: int = 50
    echo_ms: int = 40
    echo: bool = True
    drop_every: int = 0  # echo all but every n-th packet (0: none dropped)
    echo_only: int = 0  # echo only the first n packets (0: all)
    final: str = "200 OK"
    sdp: bool = True
    spoof_first: bool = False  # a 200 OK for another Call-ID before the real answers
    received: list[bytes] = field(default_factory=list)
    rtp_in: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sip.bind((self.address, 0))
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind((self.address, 0))
        self.port = self.sip.getsockname()[1]

    def __enter__(self) -> CallPeer:
        for target in (self._sip_loop, self._rtp_loop):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        self.sip.close()
        self.rtp.close()

    def _reply(self, request: bytes, status: str, body: bytes = b"") -> bytes:
        head = request.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        keep = [h for h in head[1:] if re.match(rb"(?i)(via|from|call-id|cseq):", h)]
        to = next((h for h in head[1:] if h.lower().startswith(b"to:")), b"To: <sip:x@y>")
        if b"tag=" not in to:
            to += b";tag=peer1"
        lines = [f"SIP/2.0 {status}".encode(), *keep, to, f"Contact: <sip:agent@{self.address}:{self.port}>".encode()]
        if body:
            lines.append(b"Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body)}".encode())
        return b"\r\n".join(lines) + b"\r\n\r\n" + body

    def _sip_loop(self) -> None:
        self.sip.settimeout(0.1)
        while not self._stop.is_set():
            try:
                data, source = self.sip.recvfrom(65535)
            except (TimeoutError, OSError):
                continue
            self.received.append(data)
            if data.startswith(b"INVITE"):
                if self.spoof_first:
                    spoof = re.sub(rb"(?im)^call-id:[^\r\n]*", b"Call-ID: someone-else", data)
                    self.sip.sendto(self._reply(spoof, "200 OK", self._sdp(1)), source)
                    self.sip.sendto(b"\x00garbage\xff" * 50, source)
                self.sip.sendto(self._reply(data, "100 Trying"), source)
                time.sleep(self.ring_ms / 1000)
                self.sip.sendto(self._reply(data, "180 Ringing"), source)
                body = self._sdp(self.rtp.getsockname()[1]) if self.sdp and self.final.startswith("200") else b""
                self.sip.sendto(self._reply(data, self.final, body), source)
            elif data.startswith(b"BYE"):
                self.sip.sendto(self._reply(data, "200 OK"), source)

    def _sdp(self, port: int) -> bytes:
        return (f"v=0\r\no=peer 1 1 IN IP4 {self.address}\r\ns=-\r\nc=IN IP4 {self.address}\r\nt=0 0\r\n"
                f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n").encode()

    def _rtp_loop(self) -> None:
        self.rtp.settimeout(0.005)
        pending: list[tuple[float, bytes, tuple[str, int]]] = []
        seq = 0
        while not self._stop.is_set():
            try:
                data, source = self.rtp.recvfrom(2048)
                self.rtp_in += 1
                seq += 1
                dropped = (self.drop_every and seq % self.drop_every == 0) or (self.echo_only and seq > self.echo_only)
                if self.echo and not dropped:
                    pending.append((time.monotonic() + self.echo_ms / 1000, data, source))
            except (TimeoutError, OSError):
                pass
            now = time.monotonic()
            while pending and pending[0][0] <= now:
                _, data, source = pending.pop(0)
                self.rtp.sendto(data, source)
