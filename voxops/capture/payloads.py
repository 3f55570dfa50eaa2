"""Whole RTP packets of chosen frames, read again from a capture (the scan keeps 12 bytes).

Vectorised: payload bytes of every wanted frame land in one buffer, and the RTP headers
are decoded as numpy columns. Plain Ethernet/IPv4/UDP frames take the fast path; any
other frame goes through `tunnels.decode_frame`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxops.capture.files import Batch, read_batches
from voxops.capture.layers import LINK_ETHERNET, PROTO_UDP, udp_header
from voxops.capture.tunnels import GTPU_PORT, decode_frame


@dataclass
class RtpPackets:
    """RTP packets as columns; payload i is `data[start[i]:end[i]]` (CSRCs, extension, padding stripped)."""

    frame: np.ndarray  # int64 frame number (1-based)
    arrival: np.ndarray  # float64 epoch seconds
    ssrc: np.ndarray  # int64
    seq: np.ndarray  # int64
    ts: np.ndarray  # int64
    pt: np.ndarray  # int64
    marker: np.ndarray  # bool
    start: np.ndarray  # int64
    end: np.ndarray  # int64
    data: np.ndarray  # uint8, shared by every selection

    def __len__(self) -> int:
        return int(self.arrival.shape[0])

    def select(self, index: np.ndarray) -> RtpPackets:
        cols = {k: getattr(self, k)[index] for k in ("frame", "arrival", "ssrc", "seq", "ts", "pt", "marker", "start", "end")}
        return RtpPackets(**cols, data=self.data)

    def payload(self, i: int) -> bytes:
        return self.data[int(self.start[i]): int(self.end[i])].tobytes()


def _be(data: np.ndarray, at: np.ndarray, width: int) -> np.ndarray:
    value = np.zeros(len(at), np.int64)
    for k in range(width):
        value = (value << 8) | data[at + k].astype(np.int64)
    return value


def parse_rtp(frame: np.ndarray, arrival: np.ndarray, data: np.ndarray, start: np.ndarray,
              end: np.ndarray) -> RtpPackets:
    """RFC 3550 5.1 headers of the datagrams `data[start:end]`; what is not version-2 RTP is left out."""
    safe = np.concatenate([data, np.zeros(16, np.uint8)])  # reads past a short datagram stay in bounds
    ok = (end - start) >= 12
    start, end, arrival, frame = start[ok], end[ok], arrival[ok], frame[ok]
    first, second = safe[start].astype(np.int64), safe[start + 1].astype(np.int64)
    head = start + 12 + 4 * (first & 0x0F)
    has_ext = (first & 0x10) != 0
    ext_at = np.minimum(head, len(data))
    ext_words = np.where(has_ext, _be(safe, ext_at + 2, 2), 0)
    head = head + np.where(has_ext, 4 + 4 * ext_words, 0)
    padding = np.where((first & 0x20) != 0, safe[np.maximum(end - 1, 0)].astype(np.int64), 0)
    stop = end - padding
    ok = ((first >> 6) == 2) & (head <= stop) & (head <= end)
    return RtpPackets(frame=frame[ok], arrival=arrival[ok], ssrc=_be(safe, start + 8, 4)[ok], seq=_be(safe, start + 2, 2)[ok],
                      ts=_be(safe, start + 4, 4)[ok], pt=(second & 0x7F)[ok], marker=((second & 0x80) != 0)[ok],
                      start=head[ok], end=stop[ok], data=data)


def _fast_udp(batch: Batch, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(which rows are plain Ethernet/IPv4/UDP frames, their payload start, payload end) in `batch.buf`."""
    off, caplen = batch.off[rows], batch.caplen[rows]
    buf = batch.buf[: int((off + caplen).max(initial=0)) + 64]
    if len(buf) < int((off + caplen).max(initial=0)) + 64:  # reads past a short frame stay in bounds
        buf = np.concatenate([buf, np.zeros(64, np.uint8)])
    ihl = (buf[off + 14] & 0x0F).astype(np.int64) * 4
    plain = ((batch.link[rows] == LINK_ETHERNET) & (buf[off + 12] == 0x08) & (buf[off + 13] == 0x00)
             & ((buf[off + 14] >> 4) == 4) & (ihl >= 20) & (buf[off + 23] == PROTO_UDP)
             & ((_be(buf, off + 20, 2) & 0x3FFF) == 0) & (caplen >= 14 + ihl + 8))
    udp = off + 14 + ihl
    plain &= (_be(buf, udp, 2) != GTPU_PORT) & (_be(buf, udp + 2, 2) != GTPU_PORT)  # tunnels: decode_frame
    stop = np.minimum(udp + _be(buf, udp + 4, 2), off + caplen)
    return plain, (udp + 8)[plain], np.maximum(stop, udp + 8)[plain]


def read_rtp(path: Path, frames: np.ndarray, warn: Callable[[str], None]) -> RtpPackets:
    """The RTP packets of the wanted frame numbers, in frame order."""
    wanted = np.sort(frames.astype(np.int64))
    wanted = wanted[np.concatenate([[True], wanted[1:] != wanted[:-1]])] if len(wanted) else wanted
    parts: list[np.ndarray] = []
    numbers: list[np.ndarray] = []
    arrivals: list[np.ndarray] = []
    lengths: list[np.ndarray] = []
    if len(wanted):
        for batch in read_batches(path, warn):
            in_batch = np.arange(batch.first_frame, batch.first_frame + len(batch))
            at = np.minimum(np.searchsorted(wanted, in_batch), len(wanted) - 1)
            rows = np.flatnonzero(wanted[at] == in_batch)
            if len(rows):
                _take(batch, rows, parts, (numbers, arrivals, lengths))
            if batch.first_frame + len(batch) > wanted[-1]:
                break
    data = np.concatenate(parts) if parts else np.zeros(0, np.uint8)
    length = np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
    end = np.cumsum(length)
    arrival = np.concatenate(arrivals) if arrivals else np.zeros(0)
    frame = np.concatenate(numbers) if numbers else np.zeros(0, np.int64)
    packets = parse_rtp(frame, arrival, data, end - length, end)
    return packets.select(np.argsort(packets.frame, kind="stable"))


def _take(batch: Batch, rows: np.ndarray, parts: list[np.ndarray],
          columns: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]) -> None:
    numbers, arrivals, lengths = columns
    plain, start, stop = _fast_udp(batch, rows)
    fast, slow = rows[plain], rows[~plain]
    length = stop - start
    if len(fast):
        buf = batch.buf
        parts.append(np.concatenate([buf[a:b] for a, b in zip(start.tolist(), stop.tolist(), strict=True)]))
        numbers.append(batch.first_frame + fast)
        arrivals.append(batch.ts[fast])
        lengths.append(length)
    for i in slow.tolist():  # VLAN tags, IPv6, other link types: the complete decoder
        ip = decode_frame(int(batch.link[i]), batch.data(i))
        udp = udp_header(ip.payload) if ip is not None and ip.proto == PROTO_UDP and ip.frag_id is None else None
        if udp is not None:
            parts.append(np.frombuffer(udp[2], np.uint8))
            numbers.append(np.array([batch.first_frame + i], np.int64))
            arrivals.append(batch.ts[i: i + 1])
            lengths.append(np.array([len(udp[2])], np.int64))
