"""Dialogs in compact form, built while the capture is read (`voxops calls`, `stats`, `rtp`).

`build_dialogs` holds every message of every dialog; on a capture of a million calls that
is gigabytes. `DialogSummaries` is a scan filter (capture.records.SipFilter) that folds
each message into its dialog as it is read and keeps only what the call list, the KPIs
and the RTP stream matching read: a small record for the first message, the first
request, each transaction's request and first responses and each message carrying SDP.
The dialogs it returns give the same summaries as `build_dialogs` on the same messages.

Given a `CallStore`, a dialog is also folded away while the capture is read: once it
has ended (a BYE, a final failure of its INVITE, the final response of a non-INVITE
request) and stayed quiet for LINGER_S of capture time (every retransmission timer of
RFC 3261 has run out by then), or after IDLE_S without any message, it becomes a
compact `Dialog` in the store and its live state is dropped. Memory then holds the
dialogs in progress, not the capture's.
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
    from voxops.analysis.call_store import CallStore
    from voxops.capture.records import SipPacket
    from voxops.capture.sdp import Sdp


KEEP_FIRST = 50  # messages the scan keeps whole: streams date the capture's start by them
LINGER_S = 40.0  # an ended dialog's last retransmissions (Timer J, H: 64 x T1 = 32 s)
IDLE_S = 3 * 3600.0  # a dialog that never ended (no BYE seen) is folded after this long quiet
SWEEP_S = 5.0  # capture time between two looks for dialogs to fold


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
    seq: int = 0
    ended: bool = False


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

    def __init__(self, correlate: Sequence[str] = DEFAULT_CORRELATION, *, keep_sdp: bool = True,
                 store: CallStore | None = None) -> None:
        self.correlate = tuple(correlate)
        self.keep_sdp = keep_sdp
        self.partial: dict[str, _Partial] = {}
        self.shared: dict[object, object] = {}
        self.read = 0
        self.store = store
        self.now = float("-inf")  # the latest capture time seen
        self.next_sweep = float("-inf")
        self.seen = 0  # dialogs begun

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
            d = self.partial[cid] = _Partial(slim, None, m.from_uri, m.to_uri, m.user_agent, method, pkt.ts,
                                             seq=self.seen)
            self.seen += 1
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
        if self.store is not None:
            d.ended = _ended(d, m.method, m.status, m.cseq)
            if pkt.ts > self.now:
                self.now = pkt.ts
                if self.now >= self.next_sweep:
                    self.next_sweep = self.now + SWEEP_S
                    self._sweep()

    def _sweep(self) -> None:
        """Fold the dialogs that have ended and gone quiet (or have been idle for IDLE_S)."""
        done = [cid for cid, d in self.partial.items()
                if self.now - d.end > (LINGER_S if d.ended else IDLE_S)]
        for cid in done:
            self._fold(cid, self.partial.pop(cid))

    def _fold(self, cid: str, d: _Partial) -> None:
        assert self.store is not None
        self.store.add(self._dialog(cid, d), d.seq)

    def finish(self) -> CallStore:
        """After the scan: every dialog still open folded into the store, which is returned."""
        assert self.store is not None
        for cid, d in self.partial.items():
            self._fold(cid, d)
        self.partial = {}
        return self.store

    def _dialog(self, cid: str, d: _Partial) -> Dialog:
        dialog = Dialog(
            call_id=cid, method=d.method or "?", from_uri=d.from_uri, to_uri=d.to_uri,
            start=d.first.ts, end=d.end, messages=cast("list[SipPacket]", d.kept),
            transactions=d.order, user_agent=d.user_agent, message_count=d.count,
            retransmission_count=d.retransmissions, bye_times=d.byes or [], links=d.links or [],
        )
        finish_dialog(dialog)
        return dialog

    def dialogs(self) -> list[Dialog]:
        """The dialogs, correlated and in start order (as build_dialogs orders them)."""
        out = [self._dialog(cid, d) for cid, d in self.partial.items()]
        self.partial = {}
        return correlate_and_order(out, self.correlate)


def _ended(d: _Partial, method: str | None, status: int | None, cseq: tuple[int, str] | None) -> bool:
    """Whether the dialog has ended after this message: a BYE, a final failure of its
    INVITE or the final response of its non-INVITE request end it; a 2xx to an INVITE
    (the call is up) opens it again."""
    if method == "BYE":
        return True
    if status is None or status < 200 or cseq is None or cseq[1] != d.method:
        return d.ended
    return status >= 300 if d.method == "INVITE" else True
