"""Capture files: pcap (both byte orders, micro/nano seconds), pcapng, gzip; read in chunks.

Memory stays bounded: the file is streamed through one reusable buffer (a few MB),
never mapped or read whole, so a capture larger than RAM scans the same way.
"""

from __future__ import annotations

import os
import stat
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from voxops.capture import kinds as fp
from voxops.capture.kernels import load as load_kernels
from voxops.errors import CaptureError

CHUNK = 8 * 1024 * 1024
MAX_BATCH = 1 << 16  # records per batch handed to the classifier
MAX_RECORD = 64 * 1024 * 1024  # larger pcapng blocks are corrupt, not real
MAX_CAPLEN = 256 * 1024  # larger pcap records are corrupt (no link layer carries more)
# gzip: a capture expands 3-20x; beyond both limits the input is a decompression bomb
MAX_GZIP_RATIO = 200
MAX_GZIP_FREE = 256 * 1024 * 1024  # always allowed, whatever the ratio
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
PCAP_MAGIC = {
    b"\xd4\xc3\xb2\xa1": (False, False),  # little-endian, microseconds
    b"\xa1\xb2\xc3\xd4": (True, False),
    b"\x4d\x3c\xb2\xa1": (False, True),  # little-endian, nanoseconds
    b"\xa1\xb2\x3c\x4d": (True, True),
}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"


@dataclass(slots=True)
class Batch:
    """Consecutive packet records inside `buf` (valid until the next batch)."""

    buf: np.ndarray
    first_frame: int  # frame number of the first record (1-based)
    off: np.ndarray  # int64 offset of each record's data in buf
    caplen: np.ndarray  # int64
    ts: np.ndarray  # float64 epoch seconds
    link: np.ndarray  # int32 link type of each record

    def __len__(self) -> int:
        return int(self.off.shape[0])

    def data(self, i: int) -> bytes:
        o = int(self.off[i])
        return self.buf[o : o + int(self.caplen[i])].tobytes()


def check_capture_path(path: Path) -> Path:
    """`path` when it is a regular file; a one-line CaptureError saying what it is otherwise.

    Checked before opening: opening a FIFO blocks, and a device never ends.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise CaptureError(f"{path}: no such capture file") from None
    except OSError as exc:
        raise CaptureError(f"{path}: cannot open: {exc.strerror}") from exc
    for test, what in _KINDS:
        if test(mode):
            raise CaptureError(f"{path}: is {what}, not a capture file")
    if not stat.S_ISREG(mode):
        raise CaptureError(f"{path}: not a regular file, not a capture file")
    return path


def open_capture(path: Path) -> BinaryIO:
    """Open a capture, transparently gunzipping `.gz` (detected by magic, not name)."""
    check_capture_path(path)
    try:
        fh: BinaryIO = open(path, "rb")  # noqa: SIM115 - returned to the caller
    except OSError as exc:
        raise CaptureError(f"{path}: cannot open: {exc.strerror}") from exc
    head = fh.read(2)
    fh.seek(0)
    if head == b"\x1f\x8b":
        return _Gunzip(fh)  # type: ignore[return-value]
    return fh


class GzipBomb(EOFError):
    """The decompressed stream grows beyond any real capture's compression ratio."""


class _Gunzip:
    """Streaming gunzip that keeps every byte decompressed before a cut or corrupt spot
    (gzip.GzipFile raises and drops the last block), and reads concatenated members."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.z = zlib.decompressobj(wbits=31)
        self.feed = b""
        self.pending = b""
        self.in_member = False
        self.compressed = 0  # bytes read from the file
        self.expanded = 0  # bytes decompressed from them

    def _check_ratio(self) -> None:
        if self.expanded > MAX_GZIP_FREE and self.expanded > MAX_GZIP_RATIO * self.compressed:
            raise GzipBomb(
                f"gzip expands over {MAX_GZIP_RATIO}x ({self.compressed} bytes gave more than "
                f"{self.expanded}): not a capture; decompress it yourself if it is one"
            )

    def readinto(self, view: memoryview) -> int:
        while not self.pending:
            if not self.feed:
                self.feed = self.raw.read(1 << 20)
                self.compressed += len(self.feed)
                if not self.feed:
                    if self.in_member:
                        self.in_member = False
                        raise EOFError("compressed stream ends before its end marker")
                    return 0
            self.in_member = True
            try:
                self.pending = self.z.decompress(self.feed, 4 << 20)
            except zlib.error as exc:
                self.feed, self.in_member = b"", False
                raise EOFError(str(exc)) from exc
            self.expanded += len(self.pending)
            self._check_ratio()
            self.feed = self.z.unconsumed_tail
            if self.z.eof:  # next member, if any (trailing zero padding is not one)
                rest = self.z.unused_data
                self.feed = rest if rest.strip(b"\0") else b""
                self.z = zlib.decompressobj(wbits=31)
                self.in_member = False
        n = min(len(view), len(self.pending))
        view[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n

    def close(self) -> None:
        self.raw.close()


class _Buffer:
    """A growable window over the stream: bytes [start, end) are unread."""

    def __init__(self, fh: BinaryIO, path: Path) -> None:
        self.fh = fh
        self.path = path
        self.arr = np.empty(CHUNK, np.uint8)
        self.start = 0
        self.end = 0
        self.eof = False
        self.base = 0  # offset in the stream of arr[0]
        self.split: Split | None = None  # where to pause (see `Split`)

    def fill(self, need: int = 0) -> None:
        """Move the unread tail to the front and read until full (or EOF)."""
        left = self.end - self.start
        self.base += self.start
        if need > len(self.arr):
            grown = np.empty(max(need, 2 * len(self.arr)), np.uint8)
            grown[:left] = self.arr[self.start : self.end]
            self.arr = grown
        elif self.start:
            self.arr[:left] = self.arr[self.start : self.end]
        self.start, self.end = 0, left
        view = memoryview(self.arr)  # type: ignore[arg-type]
        while self.end < len(self.arr) and not self.eof:
            try:
                got = self.fh.readinto(view[self.end :])  # type: ignore[attr-defined]
            except GzipBomb as exc:
                raise CaptureError(f"{self.path}: {exc}") from None
            except (OSError, EOFError) as exc:
                # a cut or corrupt gzip stream: keep what decompressed so far
                self.eof = True
                self.error = f"{self.path}: compressed stream ends early ({exc})"
                break
            if not got:
                self.eof = True
            else:
                self.end += got

    error: str | None = None

    def read_on(self, frame: int, warn: Callable[[str], None], big: bool, *, len_at: int,
                extra: int) -> bool:
        """Read more for the record at `start` (its length field at `len_at`); False at EOF."""
        if self.eof:
            if self.end > self.start:
                warn(f"record {frame}: truncated ({self.end - self.start} bytes left); ignored")
            return False
        need = 0
        if self.end - self.start >= len_at + 4:
            field = self.bytes_at(self.start + len_at, 4)
            need = extra + struct.unpack((">" if big else "<") + "I", field)[0]
            if need > MAX_RECORD:
                warn(f"record {frame}: length {need - extra} is not valid; stopped reading there")
                return False
        before = self.end - self.start
        self.fill(need)
        if self.end - self.start == before and not self.eof:
            # nothing more fits and the record still does not: never spin on it
            warn(f"record {frame}: longer than {len(self.arr)} bytes; stopped reading there")
            return False
        return True

    def bytes_at(self, pos: int, n: int) -> bytes:
        return self.arr[pos : pos + n].tobytes()

    def walk_end(self) -> int:
        """Where a record walk may go: the end of the data, or the split point before it."""
        if self.split is None:
            return self.end
        return max(self.start, min(self.end, self.split.at - self.base))

    def at_split(self, pos: int, status: int) -> bool | None:
        """After a walk stopped at `pos`: True when it reached the split point exactly (the
        split is dropped: reading goes on past it if asked); the split is also dropped when
        a record straddles it (not a record boundary: the file is read whole)."""
        split = self.split
        if split is None or status != fp.STATUS_MORE:
            return None
        if self.base + pos == split.at:
            self.split = None
            return True
        if split.at - self.base <= self.end:  # the next record does not end at the split point
            self.split = None
        return None


@dataclass(slots=True)
class Split:
    """A record boundary where `read_batches` pauses (an empty batch) so the rest of the
    file can be read by another process: `headers_end` is where the header blocks the
    other part starts from end (pcapng: SHB and IDBs); a header block after it, or a
    record across `at`, means the file is read whole instead (no pause)."""

    at: int
    headers_end: int


def read_batches(path: Path, warn: Callable[[str], None], *, split: Split | None = None,
                 stream: BinaryIO | None = None) -> Iterator[Batch]:
    """Yield batches of packet records in file order, whatever the format.

    Damage after the first packet is a warning (what came before is kept); damage before
    any packet could be read is a CaptureError: there is nothing to keep. With `split`,
    an empty batch marks the split point when it is reached (see `Split`). `stream`
    is read instead of opening `path` (named in messages).
    """
    read = 0

    def damage(message: str) -> None:
        if not read:
            raise CaptureError(f"{path}: no packet could be read: {message.split('; ')[0]}")
        warn(message)

    fh = stream if stream is not None else open_capture(path)
    try:
        buf = _Buffer(fh, path)
        buf.split = split
        buf.fill()
        magic = buf.bytes_at(0, 4)
        if buf.end == 0:
            raise CaptureError(buf.error or f"{path}: empty file, not a capture")
        if magic in PCAP_MAGIC:
            records = _pcap(buf, magic, damage)
        elif magic == PCAPNG_MAGIC:
            records = _pcapng(buf, damage)
        else:
            raise CaptureError(
                f"{path}: not a pcap or pcapng capture (starts with {magic.hex() or 'nothing'})"
            )
        for batch in records:
            read += len(batch)
            yield batch
        if buf.error:
            damage(buf.error)
    finally:
        fh.close()


def _pause(buf: _Buffer, frame: int, link: int) -> Batch:
    """The empty batch marking the split point (its first frame: the next one's number)."""
    empty = np.zeros(0, np.int64)
    return Batch(buf.arr, frame, empty, empty, np.zeros(0, np.float64), np.full(0, link, np.int32))


def _outputs(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.float64)


def _pcap(buf: _Buffer, magic: bytes, warn: Callable[[str], None]) -> Iterator[Batch]:
    big, nano = PCAP_MAGIC[magic]
    if buf.end < 24:
        raise CaptureError(f"{buf.path}: pcap header cut short ({buf.end} bytes)")
    snaplen, link = struct.unpack((">" if big else "<") + "II", buf.bytes_at(16, 8))
    link &= 0x0FFFFFFF  # the top bits carry FCS information (pcap-linktype(7))
    # a record longer than the snaplen (or than MAX_CAPLEN) is corrupt: stop there
    max_caplen = min(snaplen, MAX_CAPLEN) if snaplen else MAX_CAPLEN
    buf.start = 24
    frame = 1
    off, caplen, ts = _outputs(MAX_BATCH)
    kernels = load_kernels()
    state = np.zeros(2, np.int64)
    while True:
        n = kernels.walk_pcap(
            buf.arr, buf.start, buf.walk_end(), int(big), int(nano), max_caplen, off, caplen, ts, state
        )
        pos, status = int(state[0]), int(state[1])
        if n:
            yield Batch(buf.arr, frame, off[:n], caplen[:n], ts[:n], np.full(n, link, np.int32))
            frame += n
            off, caplen, ts = _outputs(MAX_BATCH)
        buf.start = pos
        if buf.at_split(pos, status):
            yield _pause(buf, frame, link)
            continue
        if status == fp.STATUS_CORRUPT:
            bad = struct.unpack((">" if big else "<") + "I", buf.bytes_at(pos + 8, 4))[0]
            warn(f"record {frame}: captured length {bad} is over the limit of {max_caplen} bytes "
                 "(snaplen, at most 256 KiB); stopped reading there")
            return
        if status == fp.STATUS_FULL:
            continue
        if not buf.read_on(frame, warn, big, len_at=8, extra=16):
            return


def _pcapng(buf: _Buffer, warn: Callable[[str], None]) -> Iterator[Batch]:
    big = False
    links: list[int] = []
    units: list[int] = []
    scale: list[float] = []
    offset: list[float] = []
    frame = 1
    off, caplen, ts = _outputs(MAX_BATCH)
    iface = np.empty(MAX_BATCH, np.int64)
    kernels = load_kernels()
    state = np.zeros(2, np.int64)
    while True:
        n = kernels.walk_pcapng(
            buf.arr, buf.start, buf.walk_end(), int(big),
            np.array(units or [0], np.int64), np.array(scale or [0.0], np.float64),
            np.array(offset or [0.0], np.float64), len(links), MAX_RECORD,
            off, caplen, ts, iface, state,
        )
        pos, status = int(state[0]), int(state[1])
        if n:
            good = _timestamps_in_range(ts[:n])
            link_arr = np.array(links, np.int32)[iface[:good]]
            if good:
                yield Batch(buf.arr, frame, off[:good], caplen[:good], ts[:good], link_arr)
            if good < n:
                warn(f"record {frame + good}: timestamp {ts[good]:g} s is out of range; stopped reading there")
                return
            frame += n
            off, caplen, ts = _outputs(MAX_BATCH)
            iface = np.empty(MAX_BATCH, np.int64)
        buf.start = pos
        if buf.at_split(pos, status):
            yield _pause(buf, frame, 0)
            continue
        if status == fp.STATUS_FULL:
            continue
        if status == fp.STATUS_CORRUPT:
            warn(f"record {frame}: corrupt pcapng block at byte offset {pos}; stopped reading there")
            return
        if status == fp.STATUS_BLOCK:
            # SHB or IDB: read it here (rare), then carry on with the packets.
            if buf.split is not None and buf.base + pos >= buf.split.headers_end:
                buf.split = None  # the other part would not know this interface
            if buf.end - buf.start < 12:
                buf.fill()
                continue
            btype = buf.bytes_at(pos, 4)
            if btype == PCAPNG_MAGIC:
                order = buf.bytes_at(pos + 8, 4)
                if order == b"\x1a\x2b\x3c\x4d":
                    big = True
                elif order == b"\x4d\x3c\x2b\x1a":
                    big = False
                else:
                    warn(f"record {frame}: pcapng section header with bad byte-order magic; stopped")
                    return
                links, units, scale, offset = [], [], [], []
            blen = struct.unpack((">" if big else "<") + "I", buf.bytes_at(pos + 4, 4))[0]
            if blen < 12 or blen % 4 or blen > MAX_RECORD:
                warn(f"record {frame}: corrupt pcapng block length {blen}; stopped reading there")
                return
            if buf.end - buf.start < blen:
                if buf.eof:
                    warn(f"record {frame}: truncated pcapng block; ignored")
                    return
                buf.fill(blen)
                continue
            if btype != PCAPNG_MAGIC:
                try:
                    link, unit, sc, toff = _interface(buf.bytes_at(pos, blen), big)
                except CaptureError as exc:
                    warn(f"record {frame}: {exc}; stopped reading there")
                    return
                links.append(link)
                units.append(unit)
                scale.append(sc)
                offset.append(toff)
            buf.start = pos + blen
            continue
        if not buf.read_on(frame, warn, big, len_at=4, extra=0):
            return


MAX_TS = 2.0**32  # the seconds a pcap record can hold: beyond (or before 1970) is corrupt


def _timestamps_in_range(ts: np.ndarray) -> int:
    """How many leading timestamps lie within [0, MAX_TS) seconds (NaN does not)."""
    bad = np.flatnonzero(~((ts >= 0) & (ts < MAX_TS)))
    return int(bad[0]) if bad.size else len(ts)


def _interface(block: bytes, big: bool) -> tuple[int, int, float, float]:
    """(link type, ticks per second or 0, seconds per tick, ts offset) from an IDB."""
    e = ">" if big else "<"
    if len(block) < 20:
        return 0, 1_000_000, 1e-6, 0.0
    link = struct.unpack(e + "H", block[8:10])[0]
    units, scale, toff = 1_000_000, 1e-6, 0.0
    pos, end = 16, len(block) - 4
    while pos + 4 <= end:
        code, length = struct.unpack(e + "HH", block[pos : pos + 4])
        if code == 0:
            break
        if pos + 4 + length > end:
            raise CaptureError(f"pcapng interface option {code} ({length} bytes) is cut short")
        value = block[pos + 4 : pos + 4 + length]
        if code == 9 and length >= 1:  # if_tsresol
            res = value[0]
            if res & 0x80:
                units, scale = 0, 2.0 ** -(res & 0x7F)
            elif res <= 18:
                units, scale = 10**res, 10.0**-res
        elif code == 14 and length == 8:  # if_tsoffset, seconds
            toff = float(struct.unpack(e + "q", value)[0])
        pos += 4 + ((length + 3) & ~3)
    return link, units, scale, toff
