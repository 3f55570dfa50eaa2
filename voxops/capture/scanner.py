"""`scan()`: one pass over a capture -> SIP messages, a columnar UDP table, RTCP packets."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from voxops.capture import kinds as fp
from voxops.capture import layers
from voxops.capture.files import Batch, Split, read_batches
from voxops.capture.kernels import load as load_kernels
from voxops.capture.reassembly import Defragmenter, TcpReassembler
from voxops.capture.records import (
    _COLUMNS,
    HEAD_BYTES,
    CaptureScan,
    SipFilter,
    SipPacket,
    UdpPacket,
    UdpTable,
    UdpTableBuilder,
    is_rtcp,
)
from voxops.capture.sip import parse_sip
from voxops.capture.tunnels import decode_frame

if TYPE_CHECKING:
    from voxops.capture.split import Child, Part

_SIP_FIRST = frozenset(range(65, 91)) | frozenset(range(97, 123))


UdpFilter = Callable[[UdpTable], np.ndarray]


class _Scanner:
    """The per-frame path (`frame`, `datagram`) is also the live feed's entry: `keep` and
    `media_datagram` are where a message and a media datagram leave it."""

    def __init__(self, media: bool, udp_keep: UdpFilter | None = None,
                 sip_filter: SipFilter | None = None) -> None:
        self.media = media
        self.udp_keep = udp_keep
        self.sip_filter = sip_filter
        self.addresses: list[str] = []
        self.addr_index: dict[str, int] = {}
        self.v4_index: dict[int, int] = {}
        self.sip: list[SipPacket] = []
        self.rtcp: list[UdpPacket] = []
        self.table = UdpTableBuilder()
        self.rows: list[tuple[int, float, int, int, int, int, int, bytes]] = []
        self.defrag = Defragmenter()
        self.tcp = TcpReassembler()
        self.packets = 0
        self.links: set[int] = set()
        self.kernels = load_kernels()

    def address(self, text: str) -> int:
        idx = self.addr_index.get(text)
        if idx is None:
            idx = self.addr_index[text] = len(self.addresses)
            self.addresses.append(text)
        return idx

    def v4(self, value: int) -> int:
        idx = self.v4_index.get(value)
        if idx is None:
            idx = self.v4_index[value] = self.address(socket.inet_ntoa(value.to_bytes(4, "big")))
        return idx

    def batch(self, b: Batch) -> None:
        n = len(b)
        self.packets += n
        self.links.update(np.unique(b.link).tolist())
        kind = np.empty(n, np.uint8)
        src = np.zeros(n, np.uint32)
        dst = np.zeros(n, np.uint32)
        sport = np.zeros(n, np.int64)
        dport = np.zeros(n, np.int64)
        plen = np.zeros(n, np.int64)
        head = np.empty((n, HEAD_BYTES), np.uint8)
        ipoff = np.zeros(n, np.int64)
        self.kernels.classify(b.buf, b.off, b.caplen, b.link, kind, src, dst, sport, dport, plen,
                              head, ipoff)
        slow = np.flatnonzero(kind == fp.KIND_SLOW).tolist()
        for i in slow:
            self.frame(b.first_frame + i, float(b.ts[i]), int(b.link[i]), b.data(i))
        if not self.media:
            return
        v4 = np.flatnonzero(kind == fp.KIND_UDP)
        v6 = np.flatnonzero(kind == fp.KIND_UDP6)
        src_idx = np.zeros(n, np.int32)
        dst_idx = np.zeros(n, np.int32)
        if v4.size:
            uniq, inverse = np.unique(np.concatenate([src[v4], dst[v4]]), return_inverse=True)
            mapped = np.array([self.v4(int(u)) for u in uniq.tolist()], np.int32)[inverse.reshape(-1)]
            src_idx[v4], dst_idx[v4] = mapped[: v4.size], mapped[v4.size :]
        if v6.size:
            # 16-byte source and destination addresses, interned once per distinct value
            at = ipoff[v6][:, None] + 8 + np.arange(32)
            raw = b.buf[at]
            keys = np.ascontiguousarray(np.concatenate([raw[:, :16], raw[:, 16:]])).view("V16").ravel()
            uniq, inverse = np.unique(keys, return_inverse=True)
            lut = [self.address(socket.inet_ntop(socket.AF_INET6, u.tobytes())) for u in uniq]
            mapped = np.array(lut, np.int32)[inverse.reshape(-1)]
            src_idx[v6], dst_idx[v6] = mapped[: v6.size], mapped[v6.size :]
        fast = np.flatnonzero((kind == fp.KIND_UDP) | (kind == fp.KIND_UDP6))
        cols = {
            "frame": fast.astype(np.int64) + b.first_frame,
            "ts": b.ts[fast],
            "src": src_idx[fast],
            "dst": dst_idx[fast],
            "sport": sport[fast],
            "dport": dport[fast],
            "length": plen[fast],
            "head": head[fast],
        }
        if self.rows:  # this batch's slow-path datagrams, merged in frame order
            cols = _merge(cols, self._take_rows())
        self._add(cols)

    def _add(self, cols: dict[str, np.ndarray]) -> None:
        if self.udp_keep is not None and len(cols["frame"]):
            keep = self.udp_keep(UdpTable(**cols, addresses=self.addresses))
            cols = {k: v[keep] for k, v in cols.items()}
        self.table.add(**cols)

    def frame(self, frame: int, ts: float, link: int, data: bytes) -> None:
        """The complete path for one frame (everything the fast path hands over)."""
        ip = decode_frame(link, data)
        if ip is None:
            return
        payload = ip.payload
        frames: tuple[int, ...] = ()
        if ip.frag_id is not None:
            key = (ip.version, ip.src, ip.dst, ip.proto, ip.frag_id)
            whole = self.defrag.add(key, ip.frag_offset, ip.more_fragments, payload, frame)
            if whole is None:
                return
            payload = whole
            frames = self.defrag.last_frames
        if ip.proto == layers.PROTO_UDP:
            udp = layers.udp_header(payload)
            if udp is not None:
                self.datagram(frame, ts, ip.src, udp[0], ip.dst, udp[1], udp[2], frames)
        elif ip.proto == layers.PROTO_TCP:
            seg = layers.tcp_header(payload)
            if seg is None:
                return
            flow = (ip.src, seg.sport, ip.dst, seg.dport)
            done = self.tcp.add(flow, seg.seq, seg.syn, seg.fin or seg.rst, seg.data, frame, ts)
            for raw, transport, parts in done:
                if self.sip_filter is not None and not self.sip_filter.wants_raw(raw):
                    continue
                msg = parse_sip(raw)
                if msg is not None:
                    self.keep(SipPacket(frame, ts, ip.src, seg.sport, ip.dst, seg.dport,
                                        transport, raw, msg, parts if len(parts) > 1 else ()))

    def keep(self, pkt: SipPacket) -> None:
        if self.sip_filter is None or self.sip_filter.wants(pkt):
            self.sip.append(pkt)

    def datagram(self, frame: int, ts: float, src: str, sport: int, dst: str, dport: int,
                 data: bytes, frames: tuple[int, ...] = ()) -> None:
        if data and data[0] in _SIP_FIRST:
            wanted = self.sip_filter is None or self.sip_filter.wants_raw(data)
            if not wanted and not self.media:
                return  # neither kept nor a media candidate: not even parsed
            msg = parse_sip(data)
            if msg is not None:  # SIP, kept or not, is never media
                if wanted:
                    self.keep(SipPacket(frame, ts, src, sport, dst, dport, "udp", data, msg, frames))
                return
        if self.media:
            self.media_datagram(frame, ts, src, sport, dst, dport, data)

    def media_datagram(self, frame: int, ts: float, src: str, sport: int, dst: str, dport: int,
                       data: bytes) -> None:
        """A UDP datagram that is not SIP: an RTP/RTCP candidate (the live feed takes it here)."""
        if is_rtcp(data):
            self.rtcp.append(UdpPacket(frame, ts, src, sport, dst, dport, data))
        self.rows.append(
            (frame, ts, self.address(src), self.address(dst), sport, dport, len(data),
             data[:HEAD_BYTES].ljust(HEAD_BYTES, b"\0"))
        )

    def _take_rows(self) -> dict[str, np.ndarray]:
        cols = list(zip(*self.rows, strict=True))
        self.rows = []
        return {
            "frame": np.array(cols[0], np.int64),
            "ts": np.array(cols[1], np.float64),
            "src": np.array(cols[2], np.int32),
            "dst": np.array(cols[3], np.int32),
            "sport": np.array(cols[4], np.int64),
            "dport": np.array(cols[5], np.int64),
            "length": np.array(cols[6], np.int64),
            "head": np.frombuffer(b"".join(cols[7]), np.uint8).reshape(-1, HEAD_BYTES),
        }

    def finish(self, warnings: list[str]) -> CaptureScan:
        if self.rows:
            self._add(self._take_rows())
        return CaptureScan(
            sip=self.sip,
            udp=self.table.build(self.addresses),
            rtcp=self.rtcp,
            addresses=self.addresses,
            packets=self.packets,
            warnings=warnings,
            link_types=sorted(self.links),
        )


class PartScanner(_Scanner):
    """The fast path of a scan over part of a file (capture.split): frames for the slow
    path are kept for the process that reads the whole, not decoded here."""

    def __init__(self, part: Part) -> None:
        super().__init__(media=True)
        self.part = part

    def frame(self, frame: int, ts: float, link: int, data: bytes) -> None:
        from voxops.capture.split import SLOW_BYTES, Declined

        self.part.slow_bytes += len(data)
        if self.part.slow_bytes > SLOW_BYTES:
            raise Declined
        self.part.slow.append((frame, ts, link, data))

    def columns(self) -> dict[str, np.ndarray]:
        table = self.table.build(self.addresses)
        return {name: getattr(table, name) for name in (*_COLUMNS, "head")}


def read_part(path: Path, split: Split, prefix: bytes) -> Part:
    """The child's work: the fast path over the file from the split point."""
    from voxops.capture.split import Declined, Part, _Joined

    part = Part()
    scanner = PartScanner(part)
    stream = _Joined(path, prefix, split.at)
    try:
        for batch in read_batches(path, part.warnings.append, stream=stream):  # type: ignore[arg-type]
            scanner.batch(batch)
            for link in set(np.unique(batch.link).tolist()) - layers.SUPPORTED_LINKS - {u for _, u in part.unsupported}:
                part.unsupported.append((batch.first_frame, link))
    except Declined:
        return Part(declined=True)
    finally:
        stream.close()
    part.columns = scanner.columns()
    part.addresses, part.packets, part.links = scanner.addresses, scanner.packets, scanner.links
    return part


def absorb(scanner: _Scanner, part: Part, frames_before: int, note: Callable[[str], None]) -> None:
    """Go on with the part another process read after `frames_before` frames, as if
    this scanner had read it: the slow frames in order, then the UDP columns."""
    for frame, ts, link, data in part.slow:
        scanner.frame(frame + frames_before, ts, link, data)
    cols = dict(part.columns)
    if len(cols["frame"]):
        cols["frame"] = cols["frame"] + frames_before
        lut = np.array([scanner.address(a) for a in part.addresses] or [0], np.int32)
        cols["src"], cols["dst"] = lut[cols["src"]], lut[cols["dst"]]
    if scanner.rows:
        cols = _merge(cols, scanner._take_rows())
    scanner._add(cols)
    scanner.packets += part.packets
    scanner.links |= part.links


def _merge(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Two frame-ordered column sets as one (both runs sorted: a stable sort is linear)."""
    order = np.argsort(np.concatenate([a["frame"], b["frame"]]), kind="stable")
    return {k: np.concatenate([a[k], b[k]])[order] for k in a}


def _start_child(path: Path, eligible: bool) -> tuple[Child | None, Split | None]:
    """The child reading the second half of a big capture, and where the parent stops."""
    from voxops.capture.split import Child, plan_split

    planned = plan_split(path) if eligible else None
    if planned is None:
        return None, None
    split, prefix = planned
    return Child(path, split, prefix, read_part), split


def scan(
    path: str | Path,
    *,
    warn: Callable[[str], None] | None = None,
    media: bool = True,
    udp_keep: UdpFilter | None = None,
    sip_filter: SipFilter | None = None,
) -> CaptureScan:
    """Read a pcap / pcapng / gzip capture in one streaming pass.

    `warn(msg)` is called for each truncated or corrupt record (the message names the
    record number); what was read before stays. `media=False` skips the UDP table and
    RTCP (signalling only: less memory, a little faster). `udp_keep(table)` returns
    the rows (mask or indexes) of each chunk of the UDP table to keep: memory then
    grows with what is kept, not with the capture. `sip_filter` likewise keeps only
    the SIP messages it wants.
    """
    warnings: list[str] = []

    def note(message: str) -> None:
        warnings.append(message)
        if warn is not None:
            warn(message)

    scanner = _Scanner(media, udp_keep, sip_filter)
    unsupported: set[int] = set()
    child, split = _start_child(Path(path), media and udp_keep is None)
    try:
        for batch in read_batches(Path(path), note, split=split):
            if not len(batch) and child is not None:  # the split point: the child read the rest?
                part, child = child.result(), None
                if part is not None and not part.warnings and not part.declined:
                    absorb(scanner, part, batch.first_frame - 1, note)
                    for first, link in part.unsupported:
                        if link not in unsupported:
                            unsupported.add(link)
                            note(f"record {first + batch.first_frame - 1}: link type {link} is not supported; "
                                 "its frames are skipped")
                    break
                continue  # read on here instead
            scanner.batch(batch)
            for link in set(np.unique(batch.link).tolist()) - layers.SUPPORTED_LINKS - unsupported:
                unsupported.add(link)
                note(f"record {batch.first_frame}: link type {link} is not supported; its frames are skipped")
    finally:
        if child is not None:
            child.cancel()
    if scanner.tcp.dropped_bytes:
        note(f"{scanner.tcp.dropped_bytes} bytes of TCP data ({scanner.tcp.dropped_segments} "
             "segment(s) or stream buffer(s)) were dropped: out-of-order data over the "
             "reassembly limits; SIP in them is not read")
    if scanner.tcp.tls_streams:
        note(f"{scanner.tcp.tls_streams} TLS stream(s) are encrypted: SIP inside them is not read "
             "(use --engine tshark --tls-keylog FILE)")
    return scanner.finish(warnings)
