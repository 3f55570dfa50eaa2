"""Fault injection and observation helpers the drills share."""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from voxops.errors import CommandFailed
from voxops.proc import run


@dataclass
class Datagram:
    at: float
    source: str
    first_line: str
    call_id: str | None = None


@dataclass
class SilentPeer:
    """Takes a dead peer's UDP address and never answers, recording what arrives.

    This is what a carrier that "goes silent" looks like from the SBC (no ICMP port
    unreachable that would short-cut the SBC's timers), and it tells the drill when the
    first unanswered OPTIONS ping arrived.
    """

    address: str
    port: int
    received: list[Datagram] = field(default_factory=list)
    _sock: socket.socket | None = None
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> SilentPeer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock = sock  # closed by close() whatever happens from here on
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 5
        try:
            while True:
                try:
                    sock.bind((self.address, self.port))
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise CommandFailed(f"cannot take {self.address}:{self.port}") from None
                    time.sleep(0.05)
            sock.settimeout(0.1)
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        except BaseException:
            self.close()
            raise
        return self

    def _loop(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                data, src = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            text = data.decode(errors="replace")
            found = _CALL_ID_RE.search(text)
            self.received.append(
                Datagram(time.time(), src[0], text.split("\r\n", 1)[0], found.group(1) if found else None)
            )

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Give the address back (idempotent)."""
        self._stop.set()
        # an interrupt may land between creating the thread and starting it
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=2)
        if self._sock is not None:
            self._sock.close()

    def invited_calls(self) -> set[str]:
        """Call-IDs of the INVITEs that reached the silent peer (calls that had to fail over)."""
        return {d.call_id for d in list(self.received) if d.first_line.startswith("INVITE") and d.call_id}

    def first_options(self, after: float, source: str | None = None) -> float | None:
        for d in list(self.received):
            if d.at >= after and d.first_line.startswith("OPTIONS") and source in (None, d.source):
                return d.at
        return None


_CALL_ID_RE = re.compile(r"^(?:Call-ID|i)\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
_DEST_RE = re.compile(r"URI:\s*sip:(?:[^@\s]+@)?([0-9.]+):?(\d+)?[^\n]*\n\s*FLAGS:\s*(\w+)")


def dispatcher_flags(ctl_socket: Path | str) -> dict[str, str]:
    """'address:port' -> dispatcher flags (A active, I inactive, P probing) via kamcmd."""
    cp = run(["kamcmd", "-s", f"unix:{ctl_socket}", "dispatcher.list"], timeout=5, check=False)
    if cp.returncode != 0:
        return {}
    text = cp.stdout.decode(errors="replace")
    return {f"{a}:{p or 5060}": flags for a, p, flags in _DEST_RE.findall(text)}


def wait_for(predicate: object, *, timeout_s: float, step_s: float = 0.1) -> float | None:
    """Poll predicate() until true; the time it became true, or None on timeout."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return time.time()
        time.sleep(step_s)
    return None
