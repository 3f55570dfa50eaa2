"""Dialogs in compact form, built while the capture is read (`voxops calls`, `stats`, `rtp`).

`build_dialogs` holds every message of every dialog; on a capture of a million calls that
is gigabytes. `DialogSummaries` is a scan filter (capture.records.SipFilter) that folds
each message into its dialog as it is read and keeps only what the call list, the KPIs
and the RTP stream matching read: a small record for the first message, the first
request, each transaction's request and first responses and each message carrying SDP.
The dialogs it returns give the same summaries as `build_dialogs` on the same messages.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from voxops.analysis.dialogs import (
    DEFAULT_CORRELATION,
    Dialog,
    Transaction,
    correlate_and_order,
    finish_dialog,
    fold_message,
)

if TYPE_CHECKING:
    from voxops.capture.records import SipPacket
    from voxops.capture.sdp import Sdp


KEEP_FIRST = 50  # messages the scan keeps whole: streams date the capture's start by them


class SlimMessage:
    """What summaries read of one message (stands in for a SipPacket and its SipMessage)."""

    __slots__ = ("frame", "ts", "src", "sport", "dst", "dport", "is_request", "method", "status",
                 "to_tag", "sdp")

    def __init__(self, pkt: SipPacket, keep_sdp: bool, shared: dict[object, object]) -> None:
        m = pkt.msg
        self.frame, self.ts = pkt.frame, pkt.ts
        # addresses, ports and methods repeat: one object each for the whole capture
        self.src, self.sport = shared.setdefault(pkt.src, pkt.src), shared.setdefault(pkt.sport, pkt.sport)
        self.dst, self.dport = shared.setdefault(pkt.dst, pkt.dst), shared.setdefault(pkt.dport, pkt.dport)
        self.is_request, self.status = m.is_request, m.status
        self.method, self.to_tag = shared.setdefault(m.method, m.method), m.to_tag
        self.sdp: Sdp | None = m.sdp if keep_sdp else None

    @property
    def msg(self) -> SlimMessage:
        return self


@dataclass(slots=True)
class _Partial:
    first: SlimMessage
    first_req: SlimMessage | None
    from_uri: str | None
    to_uri: str | None
    user_agent: str | None
    method: str | None
    end: float
    count: int = 0
    retransmissions: int = 0
    kept: list[SlimMessage] = field(default_factory=list)  # first, first request, SDP
    txs: dict[tuple, Transaction] = field(default_factory=dict)
    order: list[Transaction] = field(default_factory=list)
    seen: HashSeen = field(default_factory=lambda: HashSeen())
    byes: list[float] | None = None
    links: list[str] | None = None


class HashSeen:
    """A set of 64-bit hashes: a packed array while small (most dialogs), a set beyond."""

    __slots__ = ("small", "big")

    def __init__(self) -> None:
        self.small: array[int] | None = array("q")
        self.big: set[int] | None = None

    def __contains__(self, value: object) -> bool:
        return value in self.small if self.small is not None else value in (self.big or ())

    def add(self, value: int) -> None:
        if self.small is None:
            assert self.big is not None
            self.big.add(value)
        elif len(self.small) < 32:
            self.small.append(value)
        else:
            self.big, self.small = {*self.small, value}, None


class DialogSummaries:
    """Folds SIP messages into compact dialogs during a scan; keeps no message itself."""

    def __init__(self, correlate: Sequence[str] = DEFAULT_CORRELATION, *, keep_sdp: bool = True) -> None:
        self.correlate = tuple(correlate)
        self.keep_sdp = keep_sdp
        self.partial: dict[str, _Partial] = {}
        self.shared: dict[object, object] = {}
        self.read = 0

    def wants_raw(self, raw: bytes) -> bool:
        return True

    def wants(self, pkt: SipPacket) -> bool:
        cid = pkt.msg.call_id
        if cid is not None:
            self.add(cid, pkt)
        self.read += 1
        return self.read <= KEEP_FIRST  # the rest is folded: the scan need not keep it

    def _slim(self, pkt: SipPacket) -> SlimMessage:
        return SlimMessage(pkt, self.keep_sdp, self.shared)

    def add(self, cid: str, pkt: SipPacket) -> None:
        m = pkt.msg
        d = self.partial.get(cid)
        slim: SlimMessage | None = None
        if d is None:  # described by its first message until a request comes
            slim = self._slim(pkt)
            method = m.method or (m.cseq[1] if m.cseq else "?")
            d = self.partial[cid] = _Partial(slim, None, m.from_uri, m.to_uri, m.user_agent, method, pkt.ts)
            d.kept.append(slim)
        if m.is_request and d.first_req is None:
            slim = slim or self._slim(pkt)
            d.first_req = slim
            d.from_uri, d.to_uri, d.user_agent, d.method = m.from_uri, m.to_uri, m.user_agent, m.method
            if d.kept[-1] is not slim:
                d.kept.append(slim)
        d.end = pkt.ts
        d.count += 1
        if m.method == "BYE":
            d.byes = [*(d.byes or ()), pkt.ts]
        for name in self.correlate:
            value = m.header(name)
            if value:
                d.links = [*(d.links or ()), value.strip()]
        if self.keep_sdp and m.sdp is not None:
            slim = slim or self._slim(pkt)
            if d.kept[-1] is not slim:
                d.kept.append(slim)
        held = slim or self._slim(pkt)
        if fold_message(d.txs, d.order, d.seen, pkt, cast("SipPacket", held), hashed=True):
            d.retransmissions += 1

    def dialogs(self) -> list[Dialog]:
        """The dialogs, correlated and in start order (as build_dialogs orders them)."""
        out = []
        for cid, d in self.partial.items():
            dialog = Dialog(
                call_id=cid, method=d.method or "?", from_uri=d.from_uri, to_uri=d.to_uri,
                start=d.first.ts, end=d.end, messages=cast("list[SipPacket]", d.kept),
                transactions=d.order, user_agent=d.user_agent, message_count=d.count,
                retransmission_count=d.retransmissions, bye_times=d.byes or [], links=d.links or [],
            )
            finish_dialog(dialog)
            out.append(dialog)
        self.partial = {}
        return correlate_and_order(out, self.correlate)
