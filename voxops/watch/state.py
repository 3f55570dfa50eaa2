"""What the live engine holds for one call while it is active: its SIP messages and media.

A call is a group of dialogs (a Call-ID and the B2BUA legs linked to it by a correlation
header). Each dialog is open from its initial INVITE until its caller-side INVITE got a
final failure or a BYE was seen; the call is done when every dialog is. Everything held
is capped: messages and datagrams past the caps are counted, not kept.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from voxops.capture.records import HEAD_BYTES, CaptureScan, UdpPacket, UdpTable, is_rtcp

if TYPE_CHECKING:
    from voxops.capture.records import SipPacket

CHALLENGES = (401, 407)


@dataclass(slots=True)
class Limits:
    """Bounds of the live state (every one a `voxops watch` setting)."""

    max_calls: int = 20000  # active calls; the stalest is finished early beyond
    max_messages: int = 2000  # SIP messages held per call
    max_datagrams: int = 250_000  # media datagrams held per call (about 11 MB)
    linger_s: float = 2.0  # a done call is finished this long after (late responses, last RTP)
    setup_timeout_s: float = 180.0  # no final answer and no traffic for this long
    idle_timeout_s: float = 900.0  # answered, and no SIP nor media for this long
    max_duration_s: float = 4 * 3600.0
    remember_finished: int = 50000  # Call-IDs whose late messages are dropped, not a new call


class MediaBuffer:
    """A call's media datagrams in columns (44 bytes each), with its own address list."""

    __slots__ = ("frame", "ts", "src", "dst", "sport", "dport", "length", "head", "addresses", "index",
                 "rtcp")

    def __init__(self) -> None:
        self.frame, self.ts = array("q"), array("d")
        self.src, self.dst = array("i"), array("i")
        self.sport, self.dport, self.length = array("H"), array("H"), array("i")
        self.head = bytearray()
        self.addresses: list[str] = []
        self.index: dict[str, int] = {}
        self.rtcp: list[UdpPacket] = []

    def __len__(self) -> int:
        return len(self.frame)

    def _addr(self, text: str) -> int:
        i = self.index.get(text)
        if i is None:
            i = self.index[text] = len(self.addresses)
            self.addresses.append(text)
        return i

    def add(self, frame: int, ts: float, src: str, sport: int, dst: str, dport: int, data: bytes) -> None:
        if is_rtcp(data):
            self.rtcp.append(UdpPacket(frame, ts, src, sport, dst, dport, data))
        self.frame.append(frame)
        self.ts.append(ts)
        self.src.append(self._addr(src))
        self.dst.append(self._addr(dst))
        self.sport.append(sport)
        self.dport.append(dport)
        self.length.append(len(data))
        self.head += data[:HEAD_BYTES].ljust(HEAD_BYTES, b"\0")

    def table(self) -> UdpTable:
        return UdpTable(
            frame=np.frombuffer(self.frame, np.int64).copy(), ts=np.frombuffer(self.ts, np.float64).copy(),
            src=np.frombuffer(self.src, np.int32).copy(), dst=np.frombuffer(self.dst, np.int32).copy(),
            sport=np.frombuffer(self.sport, np.uint16).copy(), dport=np.frombuffer(self.dport, np.uint16).copy(),
            length=np.frombuffer(self.length, np.int32).copy(),
            head=np.frombuffer(bytes(self.head), np.uint8).reshape(-1, HEAD_BYTES).copy(),
            addresses=self.addresses)


@dataclass(slots=True)
class DialogState:
    """Whether one Call-ID of the call is still open."""

    first_branch: dict[int, str | None] = field(default_factory=dict)  # INVITE CSeq -> caller-side branch
    answered: bool = False
    closed: bool = False
    reason: str = ""


@dataclass(slots=True)
class CallState:
    key: str  # the Call-ID that opened the call
    started: float
    last: float
    dialogs: dict[str, DialogState] = field(default_factory=dict)
    sip: list[SipPacket] = field(default_factory=list)
    media: MediaBuffer = field(default_factory=MediaBuffer)
    endpoints: set[tuple[str, int]] = field(default_factory=set)
    done_at: float | None = None
    dropped_messages: int = 0
    dropped_datagrams: int = 0
    sharing: list[CallState] = field(default_factory=list)  # calls whose SDP named the same media

    def share(self, other: CallState, cap: int) -> None:
        for a, b in ((self, other), (other, self)):
            if b not in a.sharing and len(a.sharing) < cap:
                a.sharing.append(b)

    @property
    def answered(self) -> bool:
        return any(d.answered for d in self.dialogs.values())

    def add_sip(self, pkt: SipPacket, limits: Limits) -> bool:
        """Hold the message (False when over the cap) and update whether the call is done."""
        self.last = max(self.last, pkt.ts)
        kept = len(self.sip) < limits.max_messages
        if kept:
            self.sip.append(pkt)
        else:
            self.dropped_messages += 1
        cid = pkt.msg.call_id or self.key
        state = self.dialogs.setdefault(cid, DialogState())
        _advance(state, pkt)
        if all(d.closed for d in self.dialogs.values()):
            if self.done_at is None:
                self.done_at = pkt.ts
        else:
            self.done_at = None
        return kept

    def add_media(self, frame: int, ts: float, src: str, sport: int, dst: str, dport: int, data: bytes,
                  limits: Limits) -> bool:
        self.last = max(self.last, ts)
        if len(self.media) >= limits.max_datagrams:
            self.dropped_datagrams += 1
            return False
        self.media.add(frame, ts, src, sport, dst, dport, data)
        return True

    def reason(self) -> str:
        reasons = {d.reason for d in self.dialogs.values()}
        return "bye" if "bye" in reasons else "failure"

    def scan(self) -> CaptureScan:
        """The call's packets as a capture scan, with those of the calls sharing its media
        endpoints: stream matching then weighs every SDP that claimed them, as offline."""
        calls = [self, *self.sharing]
        sip = sorted({p.frame: p for c in calls for p in c.sip}.values(), key=lambda p: p.frame)
        rtcp = sorted({p.frame: p for c in calls for p in c.media.rtcp}.values(), key=lambda p: p.frame)
        tables = [c.media.table() for c in calls]
        return CaptureScan(sip=sip, udp=_union(tables), rtcp=rtcp, addresses=[], packets=len(sip))


def _union(tables: list[UdpTable]) -> UdpTable:
    """The datagrams of several calls' tables once each (by frame), in frame order."""
    if len(tables) == 1:
        return tables[0]
    addresses: list[str] = []
    index: dict[str, int] = {}
    for t in tables:
        for a in t.addresses:
            index.setdefault(a, len(index))
    addresses = list(index)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("frame", "ts", "src", "dst", "sport", "dport", "length",
                                                            "head")}
    for t in tables:
        remap = np.array([index[a] for a in t.addresses] or [0], np.int32)
        for k in cols:
            value = getattr(t, k)
            cols[k].append(remap[value] if k in ("src", "dst") and len(value) else value)
    joined = {k: np.concatenate(v) for k, v in cols.items()}
    _, first = np.unique(joined["frame"], return_index=True)
    return UdpTable(**{k: v[first] for k, v in joined.items()}, addresses=addresses)


def _advance(d: DialogState, pkt: SipPacket) -> None:
    m = pkt.msg
    cseq, cseq_method = m.cseq or (0, m.method or "")
    if m.is_request:
        if m.method == "INVITE" and m.to_tag is None:
            d.first_branch.setdefault(cseq, m.branch)
            d.closed, d.reason = False, ""
        elif m.method == "BYE":
            d.closed, d.reason = True, "bye"
        return
    status = m.status or 0
    if cseq_method != "INVITE" or status < 200:
        return
    if 200 <= status < 300:
        d.answered = True
    elif cseq in d.first_branch and d.first_branch[cseq] == m.branch and not d.answered:
        d.closed, d.reason = True, "failure"  # the caller's own INVITE failed (a challenge too)
