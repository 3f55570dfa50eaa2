"""Where the watch's packets come from: a HEP listener (UDP and TCP), a growing capture file.

Each source registers its sockets with the watch's selector and hands packets to the
engine. Nothing a sender does can make a source hold more than a fixed amount: a HEP
frame is at most 64 KiB, a TCP connection buffers at most one frame, connections are
capped in number and closed when idle, and senders outside the allow-list are refused
before their bytes are parsed.
"""

from __future__ import annotations

import ipaddress
import os
import selectors
import socket
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from voxops.errors import EnvironmentProblem
from voxops.watch import hep
from voxops.watch.engine import Tracker
from voxops.watch.interface import InterfaceCapture
from voxops.watch.pcapstream import PcapStream

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
UDP_BURST = 2000  # datagrams read per wake-up before the loop looks at the others
MAX_CONNECTIONS = 64
TCP_IDLE_S = 120.0
RCVBUF = 16 * 1024 * 1024
FOLLOW_CHUNK = 4 * 1024 * 1024

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class AllowList:
    def __init__(self, networks: Sequence[Network]) -> None:
        self.networks = tuple(networks)
        self.cache: dict[str, bool] = {}

    def __contains__(self, host: str) -> bool:
        hit = self.cache.get(host)
        if hit is None:
            try:
                addr = ipaddress.ip_address(host.split("%", 1)[0])
                mapped = getattr(addr, "ipv4_mapped", None)
                addr = mapped or addr
                hit = any(addr in net for net in self.networks)
            except ValueError:
                hit = False
            if len(self.cache) > 4096:  # a flood from many addresses must not grow it
                self.cache.clear()
            self.cache[host] = hit
        return hit


class _Conn:
    __slots__ = ("sock", "buf", "last", "peer")

    def __init__(self, sock: socket.socket, peer: str) -> None:
        self.sock, self.peer = sock, peer
        self.buf = bytearray()
        self.last = time.monotonic()


class HepListener:
    """HEP v2/v3 on one address and port, UDP and (unless `tcp=False`) TCP."""

    def __init__(self, tracker: Tracker, host: str, port: int, *, allow: AllowList,
                 secret: bytes | None = None, tcp: bool = True) -> None:
        self.tracker, self.allow, self.secret = tracker, allow, secret
        self.errors: Counter[str] = Counter()
        self.received = 0
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            self.udp = socket.socket(family, socket.SOCK_DGRAM)
            self.udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            self.udp.bind((host, port))
            self.udp.setblocking(False)
            self.tcp: socket.socket | None = None
            if tcp:
                self.tcp = socket.socket(family, socket.SOCK_STREAM)
                self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                self.tcp.bind((host, self.udp.getsockname()[1]))
                self.tcp.listen(16)
                self.tcp.setblocking(False)
        except OSError as exc:
            raise EnvironmentProblem(f"cannot listen for HEP on {host}:{port}: {exc.strerror}") from exc
        self.port = self.udp.getsockname()[1]
        self.conns: dict[int, _Conn] = {}
        self.selector: selectors.BaseSelector | None = None

    def register(self, sel: selectors.BaseSelector) -> None:
        self.selector = sel
        sel.register(self.udp, selectors.EVENT_READ, self._on_udp)
        if self.tcp is not None:
            sel.register(self.tcp, selectors.EVENT_READ, self._on_accept)

    def _packet(self, data: bytes) -> None:
        self.received += 1
        try:
            pkt = hep.decode(data, self.secret)
        except hep.HepError as exc:
            self.errors[exc.reason] += 1
            return
        self.tracker.hep(pkt)

    def _on_udp(self, sock: socket.socket) -> None:
        for _ in range(UDP_BURST):
            try:
                data, peer = sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.errors["framing"] += 1
                return
            if peer[0] not in self.allow:
                self.errors["not_allowed"] += 1
                continue
            self._packet(data)

    def _on_accept(self, sock: socket.socket) -> None:
        try:
            conn, peer = sock.accept()
        except OSError:
            return
        if peer[0] not in self.allow or len(self.conns) >= MAX_CONNECTIONS:
            self.errors["not_allowed" if peer[0] not in self.allow else "framing"] += 1
            conn.close()
            return
        conn.setblocking(False)
        self.conns[conn.fileno()] = _Conn(conn, peer[0])
        assert self.selector is not None
        self.selector.register(conn, selectors.EVENT_READ, self._on_data)

    def _close(self, c: _Conn) -> None:
        if self.selector is not None:
            self.selector.unregister(c.sock)
        self.conns.pop(c.sock.fileno(), None)
        c.sock.close()

    def _on_data(self, sock: socket.socket) -> None:
        c = self.conns[sock.fileno()]
        try:
            data = sock.recv(hep.MAX_HEP)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            if c.buf:
                self.errors["truncated"] += 1
            self._close(c)
            return
        c.last = time.monotonic()
        c.buf += data
        while len(c.buf) >= hep.HEP3_HEADER:
            try:
                total = hep.frame_length(bytes(c.buf[: hep.HEP3_HEADER]))
            except hep.HepError as exc:  # the stream cannot be resynchronised: drop it
                self.errors[exc.reason] += 1
                self._close(c)
                return
            if len(c.buf) < total:
                break
            frame = bytes(c.buf[:total])
            del c.buf[:total]
            self._packet(frame)

    def poll(self) -> bool:
        """Close idle connections; a listener never runs dry (True)."""
        now = time.monotonic()
        for c in [c for c in self.conns.values() if now - c.last > TCP_IDLE_S]:
            if c.buf:
                self.errors["truncated"] += 1
            self._close(c)
        return True

    def close(self) -> None:
        for c in list(self.conns.values()):
            self._close(c)
        self.udp.close()
        if self.tcp is not None:
            self.tcp.close()


class FollowFile:
    """A capture file read as it grows (pcap or pcapng); `once`: done at its current end."""

    def __init__(self, tracker: Tracker, path: Path, *, once: bool = False) -> None:
        self.tracker, self.path, self.once = tracker, path, once
        try:
            self.fh = open(path, "rb")  # noqa: SIM115 - held open while followed
        except OSError as exc:
            raise EnvironmentProblem(f"{path}: cannot follow: {exc.strerror}") from exc
        self.stream = PcapStream(str(path))
        self.errors: Counter[str] = Counter()

    def register(self, sel: selectors.BaseSelector) -> None:
        return None  # regular files are always "readable": polled on each tick instead

    def poll(self) -> bool:
        """Read what was appended since; False once a `once` file is read to its end."""
        for _ in range(64):  # at most 256 MB per tick: the loop stays responsive
            data = self.fh.read(FOLLOW_CHUNK)
            if not data:
                if os.stat(self.path).st_size < self.fh.tell():  # truncated: started anew
                    self.fh.seek(0)
                    self.stream = PcapStream(str(self.path))
                    continue
                if self.once:
                    self.stream.check_ended()
                return not self.once
            for ts, link, frame in self.stream.feed(data):
                self.tracker.frame(ts, link, frame)
        return True

    def close(self) -> None:
        self.fh.close()


Source = HepListener | FollowFile | InterfaceCapture
