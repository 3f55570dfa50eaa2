"""`voxops audit` against a UAS whose replies carry escapes and markup in Server and User-Agent."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator

from tests.support.hostile import BIDI, CLEAR, CLIPBOARD, MARKUP, TITLE, raw_controls
from tests.support.probe_peers import addr

HOST = addr(67)
AGENT = f"pbx{CLEAR}{TITLE}\x9b31m{BIDI} {MARKUP}"
REASON = f"OK{CLIPBOARD}"


def _reply(request: bytes) -> bytes:
    head = request.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace").split("\r\n")
    keep = [h for h in head[1:] if h.split(":", 1)[0].strip().lower() in ("via", "from", "call-id", "cseq")]
    to = next((h for h in head[1:] if h.lower().startswith("to:")), "To: <sip:x@x>")
    lines = [f"SIP/2.0 200 {REASON}", *keep, to + ";tag=h1", f"Server: {AGENT}", f"User-Agent: {AGENT}",
             "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


@contextlib.contextmanager
def hostile_uas(host: str) -> Iterator[int]:
    """Answers every SIP request with 200 and hostile Server / User-Agent headers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.settimeout(0.1)
    running = True

    def serve() -> None:
        while running:
            with contextlib.suppress(TimeoutError, OSError):
                data, peer = sock.recvfrom(65535)
                sock.sendto(_reply(data), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        running = False
        thread.join(timeout=2)
        sock.close()


def test_a_hostile_user_agent_is_shown_escaped(cli):
    with hostile_uas(HOST) as port:
        target = f"{HOST}:{port}"
        text = cli("audit", target, "--i-own-this", "--timeout", "1", "--extensions", "100-101")
        nagios = cli("audit", target, "--i-own-this", "--timeout", "1", "--extensions", "100-101", "--nagios")
        as_json = cli("audit", target, "--i-own-this", "--timeout", "1", "--extensions", "100-101", "--format", "json")
    assert json.loads(as_json[1])["scanner_user_agent"] == AGENT
    code, out, err = text
    assert code == 1, err
    assert raw_controls(out) == [] and raw_controls(err) == []
    svmap = next(line for line in out.splitlines() if line.startswith("svmap:"))
    assert MARKUP in svmap and "pbx\\x1b[2J" in svmap  # markup printed as text, not applied
    code, out, err = nagios
    assert code == 2 and out.startswith("SIP_EXPOSURE CRITICAL - ")
    assert raw_controls(out) == [] and raw_controls(err) == []
