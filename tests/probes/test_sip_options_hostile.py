"""Hostile OPTIONS replies over TCP and TLS: the probe ends by --timeout, whatever comes back."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.pki import make_ca, make_leaf
from tests.support.probe_peers import addr
from voxops.probes.sip_options import send_options

Reply = Callable[[bytes], bytes]


def _reply_to(request: bytes, content_length: str, body: bytes = b"") -> bytes:
    """A 200 OK that matches the request (Via, Call-ID, CSeq) with the given Content-Length."""
    head = request.split(b"\r\n\r\n", 1)[0].decode()
    keep = [line for line in head.split("\r\n")[1:]
            if line.split(":", 1)[0] in ("Via", "Call-ID", "CSeq", "From", "To")]
    lines = ["SIP/2.0 200 OK", *keep, f"Content-Length: {content_length}", "", ""]
    return "\r\n".join(lines).encode() + body


@contextlib.contextmanager
def stream_server(host: str, reply: Reply, tls: Path | None = None) -> Iterator[int]:
    """Accept one connection on loopback, read the request, send `reply(request)`, then hold
    the connection open (sending nothing more) until the test ends."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, 0))
    listener.listen(1)
    listener.settimeout(10)
    done = threading.Event()
    ctx = None
    if tls is not None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(tls / "server.pem", tls / "server.key")

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            conn.settimeout(10)
            if ctx is not None:
                conn = ctx.wrap_socket(conn, server_side=True)
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                request += chunk
            conn.sendall(reply(request))
            done.wait(15)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        done.set()
        listener.close()
        thread.join(5)


@pytest.fixture
def server_cert(tmp_path: Path) -> Path:
    ca = make_ca(tmp_path, "probe")
    make_leaf(tmp_path, "server", ca, [addr(40)])
    return tmp_path


@pytest.mark.timeout(20)
@pytest.mark.parametrize("transport", ["tcp", "tls"])
@pytest.mark.parametrize("length", ["-100", "-1", "99999999999999", "12abc"])
def test_a_bad_content_length_is_an_invalid_reply_not_a_hang(transport, length, server_cert):
    tls = server_cert if transport == "tls" else None
    with stream_server(addr(40), lambda req: _reply_to(req, length), tls) as port:
        started = time.monotonic()
        result = send_options(addr(40), port, transport, timeout=2)
        elapsed = time.monotonic() - started
    assert result.code is None
    assert result.error == "invalid reply: bad Content-Length"
    assert elapsed < 2.0


@pytest.mark.timeout(20)
@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_an_endless_reply_stops_at_the_size_limit(transport, server_cert):
    tls = server_cert if transport == "tls" else None
    endless = lambda req: b"SIP/2.0 200 OK\r\nX-Pad: " + b"a" * 200_000  # noqa: E731 - no blank line ever
    with stream_server(addr(40), endless, tls) as port:
        started = time.monotonic()
        result = send_options(addr(40), port, transport, timeout=3)
    assert result.code is None and result.error is not None
    assert result.error.startswith("invalid reply: larger than")
    assert time.monotonic() - started < 3.0


@pytest.mark.timeout(20)
@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_a_body_that_never_arrives_ends_at_the_timeout(transport, server_cert):
    tls = server_cert if transport == "tls" else None
    with stream_server(addr(40), lambda req: _reply_to(req, "500"), tls) as port:
        started = time.monotonic()
        result = send_options(addr(40), port, transport, timeout=1.0)
        elapsed = time.monotonic() - started
    assert result.code is None and result.error == "timeout"
    assert 0.9 < elapsed < 2.0


@pytest.mark.timeout(20)
def test_a_well_formed_reply_still_counts(server_cert):
    with stream_server(addr(40), lambda req: _reply_to(req, "4", b"abcd"), server_cert) as port:
        result = send_options(addr(40), port, "tls", timeout=2)
    assert result.code == 200 and result.error is None
