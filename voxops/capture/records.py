"""Plain records a capture scan produces: what analysis and views consume."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from voxops.capture.sip import SipMessage

HEAD_BYTES = 12  # an RTP fixed header: enough to decode version/PT/seq/ts/SSRC vectorised


def is_rtcp(payload: bytes) -> bool:
    """Version 2 and a sender/receiver report, SDES, BYE or APP first (RFC 3550 6.1)."""
    return len(payload) >= 8 and (payload[0] & 0xC0) == 0x80 and 200 <= payload[1] <= 204


@dataclass(slots=True)
class SipPacket:
    """One SIP message as seen on the wire (after IP and TCP reassembly)."""

    frame: int  # 1-based frame number as tshark numbers it (last segment/fragment)
    ts: float  # epoch seconds
    src: str
    sport: int
    dst: str
    dport: int
    transport: str  # 'udp' | 'tcp' | 'tls' | 'ws'
    raw: bytes
    msg: SipMessage
    # every frame that carried part of the message (IP fragments, TCP segments), when
    # more than `frame` alone: `voxops export` copies them all
    frames: tuple[int, ...] = ()


class SipFilter(Protocol):
    """Which SIP messages a scan keeps (the others are dropped as they are read).

    `wants_raw` sees the bytes before parsing and must keep every message that `wants`
    could keep; `wants` decides on the parsed message.
    """

    def wants_raw(self, raw: bytes) -> bool: ...

    def wants(self, pkt: SipPacket) -> bool: ...


@dataclass(slots=True)
class UdpPacket:
    """A whole UDP datagram (kept for RTCP, whose reports need the full payload)."""

    frame: int
    ts: float
    src: str
    sport: int
    dst: str
    dport: int
    payload: bytes


_COLUMNS: dict[str, Any] = {
    "frame": np.int64,
    "ts": np.float64,
    "src": np.int32,
    "dst": np.int32,
    "sport": np.uint16,
    "dport": np.uint16,
    "length": np.int32,
}


@dataclass(slots=True)
class UdpTable:
    """Every non-SIP UDP datagram, one numpy column per field (RTP/RTCP candidates).

    `src`/`dst` index `addresses`; `head` holds the first 12 payload bytes, zero-padded.
    """

    frame: np.ndarray
    ts: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    sport: np.ndarray
    dport: np.ndarray
    length: np.ndarray
    head: np.ndarray  # uint8 [N, 12]
    addresses: list[str] = field(default_factory=list)

    @classmethod
    def empty(cls, addresses: list[str] | None = None) -> UdpTable:
        cols = {name: np.zeros(0, dtype=dt) for name, dt in _COLUMNS.items()}
        return cls(**cols, head=np.zeros((0, HEAD_BYTES), np.uint8), addresses=addresses or [])

    def __len__(self) -> int:
        return int(self.frame.shape[0])

    def select(self, index: np.ndarray) -> UdpTable:
        """Rows picked by a boolean mask or an index array (same address list)."""
        cols = {name: getattr(self, name)[index] for name in _COLUMNS}
        return UdpTable(**cols, head=self.head[index], addresses=self.addresses)

    def address(self, i: int) -> str:
        return self.addresses[i]


class UdpTableBuilder:
    """Accumulates column chunks; concatenated once at the end of the scan."""

    def __init__(self) -> None:
        self.chunks: list[dict[str, np.ndarray]] = []

    def add(self, **cols: np.ndarray) -> None:
        if len(cols["frame"]):  # held in the table's types (ports and lengths arrive as int64)
            self.chunks.append({name: cols[name].astype(_COLUMNS.get(name, np.uint8), copy=False)
                                for name in (*_COLUMNS, "head")})

    def build(self, addresses: list[str]) -> UdpTable:
        if not self.chunks:
            return UdpTable.empty(addresses)
        cols = {}
        for name in (*_COLUMNS, "head"):  # a column at a time, its chunks freed as it is joined
            cols[name] = np.concatenate([c.pop(name) for c in self.chunks])
        head = cols.pop("head")
        frames = cols["frame"]
        if len(frames) > 1 and not bool(np.all(frames[1:] > frames[:-1])):
            order = np.argsort(frames, kind="stable")
            cols = {k: v[order] for k, v in cols.items()}
            head = head[order]
        self.chunks = []
        return UdpTable(**cols, head=head, addresses=addresses)


@dataclass(slots=True)
class CaptureScan:
    """Everything `scan()` found in one capture file."""

    sip: list[SipPacket]
    udp: UdpTable
    rtcp: list[UdpPacket]
    addresses: list[str]
    packets: int  # frames read
    warnings: list[str] = field(default_factory=list)
    link_types: list[int] = field(default_factory=list)

    def sip_for(self, call_ids: set[str]) -> list[SipPacket]:
        return [p for p in self.sip if p.msg.call_id in call_ids]
