"""Reading a big capture on two cores: the second half in a child process.

The file is split near its middle at a record boundary: found by walking record headers
from a point in the middle (pcap: 16-byte record headers; pcapng: blocks, whose length
is written at both ends) until a chain of SPLIT_CHAIN consecutive plausible records
follows. The child reads the header blocks (pcap: the file header; pcapng: the section
and interface blocks before the first packet) then the file from there to its end, and
does the hot part of the scan: the walk, the classification and the UDP columns.
Everything that carries state across packets (SIP, IP reassembly, TCP streams, RTCP)
stays in the parent, which reads the first half itself and then goes on with the
child's slow frames, in frame order, exactly as a single process would.

The parent's own walk from the start checks the split: only when it lands exactly on
the split point (and met no header block the child did not read) is the child's part
used; otherwise, and when the child warned or failed, the parent reads the file whole.
So the result is the single-process result, whatever the file holds.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from voxops.capture.files import (
    MAX_CAPLEN,
    MAX_RECORD,
    PCAP_MAGIC,
    PCAPNG_MAGIC,
    Split,
)

PARALLEL_MIN_BYTES = 48 * 1024 * 1024  # below this, start-up costs more than a second core saves
SPLIT_CHAIN = 64  # consecutive plausible records after a candidate split point
SEARCH_BYTES = 1 << 20  # how far past the middle a split point is looked for
# the child hands its SIP/TCP/fragment frames over whole: a signalling-heavy capture (whose
# time goes to SIP parsing, in the parent anyway) is better read by one process
SLOW_BYTES = 16 * 1024 * 1024
_PNG_PACKET_BLOCKS = (2, 3, 6)


@dataclass
class Part:
    """What the child read: the slow frames (frame, ts, link, bytes) for the parent, the
    UDP columns of the fast path (addresses numbered in `addresses`), and counts; frame
    numbers count from 1 at the split point."""

    slow: list[tuple[int, float, int, bytes]] = field(default_factory=list)
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    addresses: list[str] = field(default_factory=list)
    packets: int = 0
    links: set[int] = field(default_factory=set)
    unsupported: list[tuple[int, int]] = field(default_factory=list)  # (first frame, link)
    warnings: list[str] = field(default_factory=list)
    declined: bool = False  # over SLOW_BYTES of slow frames: the parent reads the rest itself
    slow_bytes: int = 0


class Declined(Exception):
    """The child stops: its part is not worth handing over."""


def workers() -> int:
    if os.environ.get("VOXOPS_WORKERS") == "1":
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def plan_split(path: Path) -> tuple[Split, bytes] | None:
    """Where to split the file and the header bytes the second part starts from; None
    for a small, compressed or unusual file (read whole by one process)."""
    try:
        size = path.stat().st_size
        if size < PARALLEL_MIN_BYTES or workers() < 2:
            return None
        with open(path, "rb") as fh:
            head = fh.read(4)
            if head in PCAP_MAGIC:
                return _pcap_split(fh, size, head)
            if head == PCAPNG_MAGIC:
                return _pcapng_split(fh, size)
    except OSError:
        return None
    return None


def _pcap_split(fh: BinaryIO, size: int, magic: bytes) -> tuple[Split, bytes] | None:
    big, _ = PCAP_MAGIC[magic]
    fh.seek(0)
    header = fh.read(24)
    if len(header) < 24:
        return None
    e = ">" if big else "<"
    snaplen = struct.unpack(e + "I", header[16:20])[0]
    max_caplen = min(snaplen, MAX_CAPLEN) if snaplen else MAX_CAPLEN
    first = fh.read(16)
    if len(first) < 16:
        return None
    first_sec = struct.unpack(e + "I", first[:4])[0]
    middle = size // 2
    fh.seek(middle)
    window = fh.read(SEARCH_BYTES + SPLIT_CHAIN * (16 + max_caplen))
    for at in range(min(SEARCH_BYTES, len(window))):
        if _pcap_chain(window, at, e, max_caplen, first_sec, middle + at == size):
            return Split(middle + at, 24), header
    return None


def _pcap_chain(window: bytes, at: int, e: str, max_caplen: int, first_sec: int, at_end: bool) -> bool:
    """SPLIT_CHAIN record headers in a row from `at` that a capture could hold (or the file's end)."""
    pos = at
    for _ in range(SPLIT_CHAIN):
        if pos + 16 > len(window):
            return pos == len(window) and at_end
        sec, usec, incl, orig = struct.unpack_from(e + "IIII", window, pos)
        if incl > max_caplen or incl > orig or incl < 14 or abs(sec - first_sec) > 366 * 86400 or usec >= 10**9:
            return False
        pos += 16 + incl
    return True


def _pcapng_split(fh: BinaryIO, size: int) -> tuple[Split, bytes] | None:
    fh.seek(0)
    head = fh.read(12)
    order = head[8:12]
    if order == b"\x1a\x2b\x3c\x4d":
        e = ">"
    elif order == b"\x4d\x3c\x2b\x1a":
        e = "<"
    else:
        return None
    pos = 0
    prefix = b""
    while True:  # the section header and interface blocks before the first packet
        fh.seek(pos)
        block = fh.read(8)
        if len(block) < 8:
            return None
        btype, blen = struct.unpack(e + "II", block)
        if btype not in (0x0A0D0D0A, 1) or blen < 12 or blen % 4 or blen > MAX_RECORD:
            break
        fh.seek(pos)
        prefix += fh.read(blen)
        pos += blen
    if not prefix:
        return None
    middle = max(size // 2, pos)
    middle -= middle % 4  # every block is a multiple of 4 bytes long
    fh.seek(middle)
    window = fh.read(SEARCH_BYTES + SPLIT_CHAIN * 65536)
    for at in range(0, min(SEARCH_BYTES, len(window)), 4):
        if _pcapng_chain(window, at, e, middle + at == size):
            return Split(middle + at, pos), prefix
    return None


def _pcapng_chain(window: bytes, at: int, e: str, at_end: bool) -> bool:
    """SPLIT_CHAIN packet blocks in a row from `at`, each length repeated at its end."""
    pos = at
    for _ in range(SPLIT_CHAIN):
        if pos + 12 > len(window):
            return pos == len(window) and at_end
        btype, blen = struct.unpack_from(e + "II", window, pos)
        if btype not in _PNG_PACKET_BLOCKS or blen < 32 or blen % 4 or pos + blen > len(window):
            return False
        if struct.unpack_from(e + "I", window, pos + blen - 4)[0] != blen:
            return False
        pos += blen
    return True


class _Joined:
    """The header bytes, then the file from `start` to its end, as one stream."""

    def __init__(self, path: Path, prefix: bytes, start: int) -> None:
        self.prefix = memoryview(prefix)
        self.fh = open(path, "rb")  # noqa: SIM115 - closed by close()
        self.fh.seek(start)

    def readinto(self, view: memoryview) -> int:
        if self.prefix:
            n = min(len(view), len(self.prefix))
            view[:n] = self.prefix[:n]
            self.prefix = self.prefix[n:]
            return n
        return self.fh.readinto(view)

    def close(self) -> None:
        self.fh.close()


class Child:
    """`work(path, split, prefix)` (the scanner's `read_part`) in a forked process; `result()`
    is its Part, or None when it failed."""

    def __init__(self, path: Path, split: Split, prefix: bytes,
                 work: Callable[[Path, Split, bytes], Part]) -> None:
        self.read_fd, write_fd = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns
            code = 1
            try:
                os.close(self.read_fd)
                with os.fdopen(write_fd, "wb") as out:
                    pickle.dump(work(path, split, prefix), out, protocol=pickle.HIGHEST_PROTOCOL)
                code = 0
            finally:
                os._exit(code)
        os.close(write_fd)

    def result(self) -> Part | None:
        try:
            with os.fdopen(self.read_fd, "rb") as fh:
                part = pickle.load(fh)  # noqa: S301 - from our own child process
        except (EOFError, pickle.UnpicklingError, OSError):
            part = None
        _, status = os.waitpid(self.pid, 0)
        return part if status == 0 and isinstance(part, Part) else None

    def cancel(self) -> None:
        with contextlib.suppress(OSError):
            os.kill(self.pid, 9)
        with contextlib.suppress(OSError):
            os.close(self.read_fd)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
