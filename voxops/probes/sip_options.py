"""SIP OPTIONS over UDP, TCP or TLS: one request, its matching final response, the RTT.

The request follows RFC 3261 section 11 / 8.1.1: Via with `rport` (RFC 3581) and a fresh
`z9hG4bK` branch, Max-Forwards, From tag, Call-ID, CSeq, Contact, Content-Length 0.
A response counts only when its top Via branch, Call-ID and CSeq match ours, so a late
answer to an earlier probe on a reused address is never mistaken for this one.
"""

from __future__ import annotations

import contextlib
import ipaddress
import secrets
import socket
import ssl
import time
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

TRANSPORTS = ("udp", "tcp", "tls")
T1_S = 0.5  # RFC 3261 timer T1: first UDP retransmission interval, doubled each time
_MAX_MESSAGE = 65535


class OptionsResult(BaseModel):
    """The outcome of one OPTIONS probe. `code` is None when nothing matching came back."""

    model_config = ConfigDict(frozen=True)

    code: int | None = None
    rtt_ms: float | None = None
    error: str | None = None
    reason: str | None = None
    server: str | None = None

    @property
    def answered(self) -> bool:
        return self.code is not None


@dataclass(frozen=True)
class _Request:
    data: bytes
    branch: str
    call_id: str
    cseq: int


def _uri_host(host: str) -> str:
    try:
        return f"[{host}]" if ipaddress.ip_address(host.strip("[]")).version == 6 else host
    except ValueError:
        return host


def build_options(
    host: str,
    port: int,
    transport: str,
    local: tuple[str, int],
    *,
    user_agent: str = "voxops-probe",
    from_user: str = "voxops",
) -> _Request:
    """One OPTIONS request with fresh branch, tag and Call-ID."""
    branch = "z9hG4bK" + secrets.token_hex(8)
    tag = secrets.token_hex(6)
    call_id = f"{secrets.token_hex(12)}@voxops"
    cseq = 1
    lhost = _uri_host(local[0])
    ruri = f"sip:{_uri_host(host)}:{port}"
    if transport != "udp":
        ruri += f";transport={transport}"
    contact = f"sip:{from_user}@{lhost}:{local[1]}"
    if transport != "udp":
        contact += f";transport={transport}"
    lines = [
        f"OPTIONS {ruri} SIP/2.0",
        f"Via: SIP/2.0/{transport.upper()} {lhost}:{local[1]};rport;branch={branch}",
        "Max-Forwards: 70",
        f"From: <sip:{from_user}@{lhost}>;tag={tag}",
        f"To: <{ruri}>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} OPTIONS",
        f"Contact: <{contact}>",
        "Accept: application/sdp",
        f"User-Agent: {user_agent}",
        "Content-Length: 0",
        "",
        "",
    ]
    return _Request("\r\n".join(lines).encode(), branch, call_id, cseq)


@dataclass(frozen=True)
class _Response:
    code: int
    reason: str
    headers: dict[str, list[str]]


_COMPACT = {"v": "via", "i": "call-id", "l": "content-length", "f": "from", "t": "to", "m": "contact"}


def parse_response(data: bytes) -> _Response | None:
    """Status line and headers of a SIP response; None for requests and garbage."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", errors="replace")
    lines = head.replace("\r\n", "\n").split("\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or parts[0] != "SIP/2.0" or not parts[1].isdigit() or len(parts[1]) != 3:
        return None
    headers: dict[str, list[str]] = {}
    last: str | None = None
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and last is not None:  # folded continuation line
            headers[last][-1] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep:
            continue
        key = name.strip().lower()
        key = _COMPACT.get(key, key)
        headers.setdefault(key, []).append(value.strip())
        last = key
    return _Response(int(parts[1]), parts[2].strip() if len(parts) > 2 else "", headers)


def _top_via_branch(resp: _Response) -> str | None:
    vias = resp.headers.get("via")
    if not vias:
        return None
    top = vias[0].split(",", 1)[0]
    for param in top.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "branch":
            return value.strip()
    return None


def matches(resp: _Response, req: _Request) -> bool:
    cseq = (resp.headers.get("cseq") or [""])[0].split()
    return (
        _top_via_branch(resp) == req.branch
        and (resp.headers.get("call-id") or [""])[0] == req.call_id
        and len(cseq) == 2
        and cseq[0] == str(req.cseq)
        and cseq[1].upper() == "OPTIONS"
    )


def _result(resp: _Response, started: float) -> OptionsResult:
    found = resp.headers.get("server") or resp.headers.get("user-agent")
    server = found[0] if found else None
    return OptionsResult(
        code=resp.code,
        rtt_ms=round((time.monotonic() - started) * 1000, 3),
        reason=resp.reason,
        server=server,
    )


def _resolve(host: str, port: int, kind: int) -> tuple[int, tuple[str, int]]:
    infos = socket.getaddrinfo(host.strip("[]"), port, type=kind)
    family, _, _, _, addr = infos[0]
    return family, (str(addr[0]), int(addr[1]))


def send_options(
    host: str,
    port: int = 5060,
    transport: str = "udp",
    *,
    timeout: float = 2.0,
    bind: str | None = None,
    user_agent: str = "voxops-probe",
    ssl_context: ssl.SSLContext | None = None,
    server_name: str | None = None,
) -> OptionsResult:
    """Send one OPTIONS to host:port and wait up to `timeout` s for the matching final reply.

    Never raises for network trouble: the reason goes to `error` ("timeout",
    "connection refused", "tls: ...") so a probe loop can count it as a miss.
    For TLS without `ssl_context` the peer's certificate is not verified: liveness is
    this probe's question, `voxops certs` answers the certificate one.
    """
    transport = transport.lower()
    if transport not in TRANSPORTS:
        raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}: {transport!r}")
    try:
        if transport == "udp":
            return _send_udp(host, port, timeout, bind, user_agent)
        return _send_stream(host, port, transport, timeout, bind, user_agent, ssl_context, server_name)
    except socket.gaierror as exc:
        return OptionsResult(error=f"cannot resolve {host}: {exc.strerror}")


def _send_udp(host: str, port: int, timeout: float, bind: str | None, ua: str) -> OptionsResult:
    family, addr = _resolve(host, port, socket.SOCK_DGRAM)
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((bind or ("::" if family == socket.AF_INET6 else "0.0.0.0"), 0))
            # connect() lets the kernel deliver ICMP port-unreachable as ECONNREFUSED
            sock.connect(addr)
        except OSError as exc:
            return OptionsResult(error=f"cannot send: {exc.strerror or exc}")
        local = sock.getsockname()[:2]
        req = build_options(host, port, "udp", local, user_agent=ua)
        started = time.monotonic()
        deadline = started + timeout
        interval = T1_S
        next_send = started
        provisional: _Response | None = None
        while True:
            now = time.monotonic()
            if now >= deadline:
                break
            if now >= next_send and provisional is None:
                try:
                    sock.send(req.data)
                except ConnectionRefusedError:
                    return OptionsResult(error="connection refused")
                except OSError as exc:
                    return OptionsResult(error=f"cannot send: {exc.strerror or exc}")
                next_send = now + interval
                interval = min(interval * 2, 4.0)  # T2 caps non-INVITE retransmissions
            wait = min(deadline, next_send if provisional is None else deadline) - time.monotonic()
            sock.settimeout(max(wait, 0.001))
            try:
                data = sock.recv(_MAX_MESSAGE)
            except TimeoutError:
                continue
            except ConnectionRefusedError:
                return OptionsResult(error="connection refused")
            except OSError as exc:
                return OptionsResult(error=f"receive failed: {exc.strerror or exc}")
            resp = parse_response(data)
            if resp is None or not matches(resp, req):
                continue
            if resp.code < 200:
                provisional = resp  # RFC 3261 17.1.2.2: stop retransmitting, keep waiting
                continue
            return _result(resp, started)
    return OptionsResult(error="timeout")


def _send_stream(
    host: str,
    port: int,
    transport: str,
    timeout: float,
    bind: str | None,
    ua: str,
    ctx: ssl.SSLContext | None,
    server_name: str | None,
) -> OptionsResult:
    family, addr = _resolve(host, port, socket.SOCK_STREAM)
    started = time.monotonic()
    deadline = started + timeout
    raw = socket.socket(family, socket.SOCK_STREAM)
    sock: socket.socket = raw
    try:
        raw.settimeout(timeout)
        try:
            if bind:
                raw.bind((bind, 0))
            raw.connect(addr)
        except ConnectionRefusedError:
            return OptionsResult(error="connection refused")
        except TimeoutError:
            return OptionsResult(error="timeout")
        except OSError as exc:
            return OptionsResult(error=f"connect failed: {exc.strerror or exc}")
        if transport == "tls":
            if ctx is None:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            sni = server_name or (None if is_ip(host) else host)
            raw.settimeout(max(deadline - time.monotonic(), 0.001))  # one deadline for it all
            try:
                sock = ctx.wrap_socket(raw, server_hostname=sni)
            except (ssl.SSLError, ssl.CertificateError) as exc:
                return OptionsResult(error=f"tls: {getattr(exc, 'reason', None) or exc}")
            except (TimeoutError, OSError) as exc:
                return OptionsResult(error=f"tls: handshake failed: {exc}")
        local = sock.getsockname()[:2]
        req = build_options(host, port, transport, local, user_agent=ua)
        started = time.monotonic()  # RTT of the request itself, not of the handshake
        try:
            sock.sendall(req.data)
            return _read_stream(sock, req, started, deadline)
        except TimeoutError:
            return OptionsResult(error="timeout")
        except ssl.SSLError as exc:
            return OptionsResult(error=f"tls: {exc.reason or exc}")
        except OSError as exc:
            return OptionsResult(error=f"connection failed: {exc.strerror or exc}")
    finally:
        with contextlib.suppress(OSError):
            sock.close()
        with contextlib.suppress(OSError):
            raw.close()


def _read_stream(sock: socket.socket, req: _Request, started: float, deadline: float) -> OptionsResult:
    """Read replies until ours: bounded by the deadline and by _MAX_MESSAGE buffered bytes."""
    buf = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return OptionsResult(error="timeout")
        sock.settimeout(remaining)
        chunk = sock.recv(_MAX_MESSAGE)
        if not chunk:
            return OptionsResult(error="connection closed without a reply")
        buf += chunk
        while True:  # each turn consumes a message or breaks: bounded by len(buf)
            buf = buf.lstrip(b"\r\n")  # RFC 5626 CRLF keepalives between messages
            head_end = buf.find(b"\r\n\r\n")
            if head_end < 0:
                break
            resp = parse_response(buf[: head_end + 4])
            length = _content_length(resp)
            if length is None:
                return OptionsResult(error="invalid reply: bad Content-Length")
            end = head_end + 4 + length
            if end > _MAX_MESSAGE:
                return OptionsResult(error=f"invalid reply: larger than {_MAX_MESSAGE} bytes")
            if len(buf) < end:
                break
            buf = buf[end:]
            if resp is not None and matches(resp, req) and resp.code >= 200:
                return _result(resp, started)
        if len(buf) > _MAX_MESSAGE:
            return OptionsResult(error=f"invalid reply: larger than {_MAX_MESSAGE} bytes")


def _content_length(resp: _Response | None) -> int | None:
    """The body length a reply announces (0 without the header); None when not a count."""
    if resp is None:
        return 0
    value = (resp.headers.get("content-length") or ["0"])[0].strip()
    if not value.isdigit() or len(value) > 9:
        return None
    return int(value)


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
