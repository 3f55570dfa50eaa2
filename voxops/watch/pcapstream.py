"""pcap and pcapng read incrementally: bytes in as they are written, whole records out.

For a capture that is still growing (`voxops watch --follow`) or dumpcap's output pipe.
A record is given out only once all its bytes are there; a length that cannot be real
(over the same limits as the offline reader) stops the stream with `CaptureError`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from voxops.capture.files import MAX_CAPLEN, MAX_RECORD, PCAP_MAGIC, PCAPNG_MAGIC
from voxops.errors import CaptureError

SHB, IDB, SPB, EPB = 0x0A0D0D0A, 0x00000001, 0x00000003, 0x00000006


class PcapStream:
    def __init__(self, name: str) -> None:
        self.name = name
        self.buf = bytearray()
        self.kind: str | None = None  # pcap | pcapng
        self.big = False
        self.nano = False
        self.link = 1
        self.links: list[tuple[int, int, float]] = []  # pcapng interfaces: link type, ticks per second, or seconds per tick
        self.records = 0
        self.started = False  # the file header (pcap) or first section header (pcapng) was read

    def feed(self, data: bytes) -> Iterator[tuple[float, int, bytes]]:
        """(epoch seconds, link type, frame) of each record completed by `data`."""
        self.buf += data
        at = 0
        try:
            while True:
                step = self._next(at)
                if step is None:
                    break
                at, record = step
                if record is not None:
                    self.records += 1
                    yield record
        finally:
            del self.buf[:at]

    def check_ended(self) -> None:
        """At the end of a capture that will not grow: CaptureError when nothing in it was readable."""
        if not self.started:
            raise CaptureError(f"{self.name}: not a pcap or pcapng capture (it ends within its header)")

    def _next(self, at: int) -> tuple[int, tuple[float, int, bytes] | None] | None:
        if self.kind is None:
            return self._header(at)
        if self.kind == "pcap":
            return self._pcap_record(at)
        return self._block(at)

    def _header(self, at: int) -> tuple[int, None] | None:
        if len(self.buf) - at < 4:
            return None
        magic = bytes(self.buf[at : at + 4])
        if magic == PCAPNG_MAGIC:
            self.kind = "pcapng"
            return at, None
        if magic not in PCAP_MAGIC:
            raise CaptureError(f"{self.name}: not a pcap or pcapng capture")
        if len(self.buf) - at < 24:
            return None
        self.big, self.nano = PCAP_MAGIC[magic]
        self.link = struct.unpack_from(">I" if self.big else "<I", self.buf, at + 20)[0] & 0xFFFF
        self.kind = "pcap"
        self.started = True
        return at + 24, None

    def _pcap_record(self, at: int) -> tuple[int, tuple[float, int, bytes]] | None:
        if len(self.buf) - at < 16:
            return None
        sec, frac, caplen, _ = struct.unpack_from(">IIII" if self.big else "<IIII", self.buf, at)
        if caplen > MAX_CAPLEN:
            raise CaptureError(f"{self.name}: record {self.records + 1} claims {caplen} bytes")
        if len(self.buf) - at < 16 + caplen:
            return None
        ts = sec + frac / (1e9 if self.nano else 1e6)
        return at + 16 + caplen, (ts, self.link, bytes(self.buf[at + 16 : at + 16 + caplen]))

    def _block(self, at: int) -> tuple[int, tuple[float, int, bytes] | None] | None:
        if len(self.buf) - at < 12:
            return None
        kind = struct.unpack_from(">I" if self.big else "<I", self.buf, at)[0]
        if kind == SHB:
            order = bytes(self.buf[at + 8 : at + 12])
            self.big = order == b"\x1a\x2b\x3c\x4d"
            self.links = []
        end = "<" if not self.big else ">"
        length = struct.unpack_from(end + "I", self.buf, at + 4)[0]
        if length < 12 or length % 4 or length > MAX_RECORD:
            raise CaptureError(f"{self.name}: block of {length} bytes after record {self.records}")
        if len(self.buf) - at < length:
            return None
        body = bytes(self.buf[at + 8 : at + length - 4])
        self.started = self.started or kind == SHB
        if kind == IDB and len(body) >= 8:
            self.links.append((struct.unpack_from(end + "H", body)[0], *_resolution(body[8:], end)))
        elif kind == EPB and len(body) >= 20:
            iface, hi, lo, caplen, _ = struct.unpack_from(end + "IIIII", body)
            if iface < len(self.links) and 20 + caplen <= len(body):
                link, units, tick = self.links[iface]
                ticks = (hi << 32) | lo  # as the offline reader splits them: the same float
                ts = ticks // units + (ticks % units) / units if units else ticks * tick
                return at + length, (float(ts), link, body[20 : 20 + caplen])
        elif kind == SPB and len(body) >= 4 and self.links:
            caplen = min(struct.unpack_from(end + "I", body)[0], len(body) - 4)
            return at + length, (0.0, self.links[0][0], body[4 : 4 + caplen])
        return at + length, None


def _resolution(options: bytes, end: str) -> tuple[int, float]:
    """Ticks per second (decimal resolutions) or seconds per tick (binary ones) from an
    IDB's if_tsresol option; microseconds by default."""
    at = 0
    while at + 4 <= len(options):
        code, size = struct.unpack_from(end + "HH", options, at)
        if code == 0:
            break
        if code == 9 and size >= 1:
            v = options[at + 4]
            if v & 0x80:
                return 0, 2.0 ** -(v & 0x7F)
            if v <= 18:
                return 10**v, 10.0**-v
        at += 4 + ((size + 3) & ~3)
    return 1_000_000, 1e-6
