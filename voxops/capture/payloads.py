"""Whole RTP packets of chosen frames, read again from a capture (the scan keeps 12 bytes)."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxops.capture.files import read_batches
from voxops.capture.layers import PROTO_UDP, decode_frame, udp_header


@dataclass(slots=True)
class RtpPacket:
    arrival: float  # epoch seconds
    ssrc: int
    seq: int
    ts: int
    pt: int
    marker: bool
    payload: bytes


def parse_rtp(arrival: float, data: bytes) -> RtpPacket | None:
    """An RTP packet (RFC 3550 5.1) with CSRCs, header extension and padding stripped; None if not RTP."""
    if len(data) < 12 or data[0] >> 6 != 2:
        return None
    first, second, seq, ts, ssrc = struct.unpack_from(">BBHII", data, 0)
    start = 12 + 4 * (first & 0x0F)
    if first & 0x10:  # header extension: 16-bit profile, 16-bit length in words
        if len(data) < start + 4:
            return None
        start += 4 + 4 * int.from_bytes(data[start + 2: start + 4], "big")
    end = len(data)
    if first & 0x20 and end > start:  # padding: the last octet counts it
        end -= data[-1]
    if end < start:
        return None
    return RtpPacket(arrival, ssrc, seq, ts, second & 0x7F, bool(second & 0x80), data[start:end])


def read_udp_payloads(path: Path, frames: Iterable[int],
                      warn: Callable[[str], None]) -> dict[int, tuple[float, bytes]]:
    """(arrival, UDP payload) of each wanted frame number that is an unfragmented UDP datagram."""
    wanted = np.array(sorted(set(frames)), np.int64)
    found: dict[int, tuple[float, bytes]] = {}
    if not len(wanted):
        return found
    last = int(wanted[-1])
    for batch in read_batches(path, warn):
        numbers = np.arange(batch.first_frame, batch.first_frame + len(batch))
        for i in np.flatnonzero(np.isin(numbers, wanted)).tolist():
            ip = decode_frame(int(batch.link[i]), batch.data(i))
            if ip is None or ip.proto != PROTO_UDP or ip.frag_id is not None:
                continue
            udp = udp_header(ip.payload)
            if udp is not None:
                found[batch.first_frame + i] = (float(batch.ts[i]), udp[2])
        if batch.first_frame + len(batch) > last:
            break
    return found
