"""A minimal SIP user agent client over UDP for test calls: INVITE with a PCMU offer,
ACK, BYE through the route set. Each call binds its own SIP and RTP sockets (port 0), so
every test call's media sits on its own ports and a capture tells the calls apart.

Bounded everywhere: INVITE retransmits with the RFC 3261 timer A doubling up to a
deadline, every wait has a timeout, replies are read at most 64 KiB at a time.
"""

from __future__ import annotations

import os
import re
import socket
import time
from dataclasses import dataclass, field

_STATUS_RE = re.compile(rb"^SIP/2\.0 (\d{3}) ?([^\r\n]*)")
_HEADER_RE = re.compile(rb"^([A-Za-z-]+)[ \t]*:[ \t]*(.*)$")
_COMPACT = {b"i": b"call-id", b"t": b"to", b"f": b"from", b"v": b"via", b"m": b"contact", b"l": b"content-length",
            b"c": b"content-type"}
_MEDIA_RE = re.compile(rb"^m=audio (\d+) RTP/AVP ([\d ]+)", re.M)
_CONN_RE = re.compile(rb"^c=IN IP[46] (\S+)", re.M)
_URI_RE = re.compile(rb"<([^>]+)>")
T1 = 0.5


@dataclass
class SipReply:
    status: int
    reason: str
    headers: dict[bytes, list[bytes]]
    body: bytes
    at: float

    def header(self, name: str) -> bytes | None:
        values = self.headers.get(name.lower().encode())
        return values[0] if values else None

    def media(self) -> tuple[str, int, int] | None:
        """(address, port, first payload type) of the answer's audio, or None."""
        media, conn = _MEDIA_RE.search(self.body), _CONN_RE.search(self.body)
        if not (media and conn):
            return None
        return conn.group(1).decode("ascii", "replace"), int(media.group(1)), int(media.group(2).split()[0])


def parse_reply(data: bytes, at: float) -> SipReply | None:
    """A SIP response (status line, headers, body); None for anything else."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = _STATUS_RE.match(lines[0]) if lines else None
    if status is None:
        return None
    headers: dict[bytes, list[bytes]] = {}
    for line in lines[1:]:
        found = _HEADER_RE.match(line)
        if found:
            name = found.group(1).lower()
            headers.setdefault(_COMPACT.get(name, name), []).append(found.group(2).strip())
    return SipReply(int(status.group(1)), status.group(2).decode("utf-8", "replace"), headers, body, at)


@dataclass
class SipCall:
    """One outgoing call's dialog state."""

    sock: socket.socket
    target: tuple[str, int]
    service: str
    rtp_port: int
    user_agent: str = "voxops-probe"
    call_id: str = field(default_factory=lambda: f"voxops-call-{os.urandom(8).hex()}")
    from_tag: str = field(default_factory=lambda: os.urandom(5).hex())
    to_header: bytes = b""
    route: list[bytes] = field(default_factory=list)
    remote_target: str = ""
    replies: list[SipReply] = field(default_factory=list)

    @property
    def local(self) -> tuple[str, int]:
        address, port = self.sock.getsockname()[:2]
        return str(address), int(port)

    def _uri(self) -> str:
        host, port = self.target
        return f"sip:{self.service}@{host}:{port}"

    def _common(self, method: str, cseq: int, branch: str, to: bytes | None = None) -> list[str]:
        address, port = self.local
        to_line = (to or f"<{self._uri()}>".encode()).decode("utf-8", "replace")
        return [
            f"Via: SIP/2.0/UDP {address}:{port};branch=z9hG4bK{branch};rport",
            f"From: <sip:voxops-probe@{address}:{port}>;tag={self.from_tag}",
            f"To: {to_line}", f"Call-ID: {self.call_id}", f"CSeq: {cseq} {method}",
            f"Contact: <sip:voxops-probe@{address}:{port}>", "Max-Forwards: 70", f"User-Agent: {self.user_agent}",
        ]

    def offer(self) -> bytes:
        address, _ = self.local
        family = "IP6" if ":" in address else "IP4"
        return (f"v=0\r\no=voxops-probe {int(time.time())} 1 IN {family} {address}\r\ns=voxops test call\r\n"
                f"c=IN {family} {address}\r\nt=0 0\r\nm=audio {self.rtp_port} RTP/AVP 0 101\r\n"
                "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\na=sendrecv\r\n").encode()

    def invite(self, branch: str) -> bytes:
        body = self.offer()
        lines = [f"INVITE {self._uri()} SIP/2.0", *self._common("INVITE", 1, branch),
                 "Content-Type: application/sdp", f"Content-Length: {len(body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def in_dialog(self, method: str, cseq: int, branch: str, *, request_uri: str | None = None) -> bytes:
        lines = [f"{method} {request_uri or self.remote_target or self._uri()} SIP/2.0",
                 *self._common(method, cseq, branch, self.to_header or None)]
        lines += [f"Route: {r.decode('utf-8', 'replace')}" for r in self.route]
        lines.append("Content-Length: 0")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def next_hop(self) -> tuple[str, int]:
        # loose routing through the SBC: in-dialog requests go where the INVITE went
        return self.target

    def establish(self, reply: SipReply) -> None:
        """Dialog state from a 2xx: To tag, route set (Record-Route reversed), remote target."""
        self.to_header = reply.header("to") or b""
        routes = [r for value in reply.headers.get(b"record-route", []) for r in value.split(b",")]
        self.route = [r.strip() for r in reversed(routes)]
        contact = reply.header("contact")
        found = _URI_RE.search(contact) if contact else None
        self.remote_target = found.group(1).decode("utf-8", "replace") if found else self._uri()

    def receive(self, deadline: float) -> SipReply | None:
        """The next reply for this call before the deadline (others are ignored)."""
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(min(left, T1))
            try:
                data = self.sock.recv(65535)
            except TimeoutError:
                return None
            except OSError:  # ICMP port unreachable from a dead next hop
                time.sleep(min(0.05, max(left, 0)))
                continue
            reply = parse_reply(data, time.monotonic())
            if reply is not None and reply.header("call-id") == self.call_id.encode():
                self.replies.append(reply)
                return reply
        return None


@dataclass
class Setup:
    """How the INVITE went: the final reply and when the first provisional came."""

    final: SipReply | None
    first_ringing_at: float | None
    sent_at: float


def place_invite(call: SipCall, *, answer_timeout_s: float) -> Setup:
    """Send the INVITE (retransmitted until a provisional or the deadline) and wait for a
    final answer; a non-2xx final is acknowledged here."""
    branch = os.urandom(6).hex()
    message = call.invite(branch)
    sent_at = time.monotonic()
    deadline = sent_at + answer_timeout_s
    interval, next_send, provisional = T1, sent_at, False
    ringing: float | None = None
    while time.monotonic() < deadline:
        if not provisional and time.monotonic() >= next_send:
            call.sock.sendto(message, call.target)
            next_send = time.monotonic() + interval
            interval = min(interval * 2, 4.0)
        wait_until = deadline if provisional else min(deadline, next_send)
        reply = call.receive(wait_until)
        if reply is None or not (reply.header("cseq") or b"").endswith(b"INVITE"):
            continue
        if reply.status < 200:
            provisional = True
            if reply.status in (180, 183) and ringing is None:
                ringing = reply.at
            continue
        if reply.status >= 300:
            call.to_header = reply.header("to") or b""
            # the ACK of a failed INVITE: same branch, no route set (RFC 3261 17.1.1.3)
            call.sock.sendto(call.in_dialog("ACK", 1, branch, request_uri=call._uri()), call.target)
        return Setup(reply, ringing, sent_at)
    return Setup(None, ringing, sent_at)


def hang_up(call: SipCall, *, timeout_s: float = 4.0) -> int | None:
    """BYE through the route set; the status of its answer, or None."""
    branch = os.urandom(6).hex()
    message = call.in_dialog("BYE", 2, branch)
    deadline = time.monotonic() + timeout_s
    interval = T1
    while time.monotonic() < deadline:
        call.sock.sendto(message, call.next_hop())
        reply = call.receive(min(deadline, time.monotonic() + interval))
        interval = min(interval * 2, 4.0)
        cseq = reply.header("cseq") if reply else None
        if reply is not None and cseq is not None and cseq.endswith(b"BYE") and reply.status >= 200:
            return reply.status
    return None


def acknowledge(call: SipCall) -> None:
    call.sock.sendto(call.in_dialog("ACK", 1, os.urandom(6).hex()), call.next_hop())
