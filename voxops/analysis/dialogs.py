"""Dialogs and transactions from SIP packets: Call-ID grouping, retransmissions, PDD.

Pure functions over `SipPacket` records (no I/O). Definitions:
- transaction: (top Via branch, CSeq number, CSeq method); an ACK is its own
  transaction even when it reuses the INVITE's branch (RFC 3261 17.1.1.3);
- retransmission: the same request (or the same response: status and To-tag) of the
  same transaction seen again on the same hop (addresses and ports);
- PDD: RFC 6076 section 4.3 SRD, from the INVITE sent after any 401/407 challenge
  to the first 180/181/182/183, else to the final response; 100 never counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from voxops.capture.records import SipPacket
from voxops.capture.sdp import SdpMedia

RINGING = (180, 181, 182, 183)
CHALLENGES = (401, 407)
DEFAULT_CORRELATION = ("X-CID", "X-Call-ID")


@dataclass(slots=True)
class Transaction:
    branch: str | None
    cseq: int
    method: str  # CSeq method
    request: SipPacket | None = None  # first transmission of the request
    responses: list[SipPacket] = field(default_factory=list)  # first transmission of each
    retransmissions: int = 0

    @property
    def start(self) -> float | None:
        if self.request is not None:
            return self.request.ts
        return self.responses[0].ts if self.responses else None

    @property
    def final(self) -> SipPacket | None:
        """First final response (>= 200)."""
        for r in self.responses:
            if r.msg.status is not None and r.msg.status >= 200:
                return r
        return None

    @property
    def final_status(self) -> int | None:
        f = self.final
        return f.msg.status if f is not None else None


@dataclass(slots=True)
class Dialog:
    call_id: str
    method: str  # method of the first request seen (INVITE, REGISTER, OPTIONS, ...)
    from_uri: str | None
    to_uri: str | None
    start: float
    end: float
    messages: list[SipPacket] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)
    retransmitted: list[bool] = field(default_factory=list)  # parallel to messages
    final_status: int | None = None
    pdd_ms: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None  # the first BYE
    duration_s: float | None = None
    legs: list[str] = field(default_factory=list)  # other Call-IDs of the same call
    user_agent: str | None = None
    message_count: int = 0  # every message, retransmissions included
    # compact dialogs (`DialogSummaries`) hold only some messages: these stand for the rest
    retransmission_count: int = 0
    bye_times: list[float] | None = None
    links: list[str] | None = None  # correlation header values seen in the dialog

    @property
    def retransmissions(self) -> int:
        return self.retransmission_count or sum(self.retransmitted)

    @property
    def from_user(self) -> str:
        from voxops.capture.sip import uri_user

        return uri_user(self.from_uri or "")

    @property
    def to_user(self) -> str:
        from voxops.capture.sip import uri_user

        return uri_user(self.to_uri or "")


def build_dialogs(
    sip_packets: Iterable[SipPacket],
    *,
    correlate_headers: Sequence[str] = DEFAULT_CORRELATION,
) -> list[Dialog]:
    """Group packets by Call-ID into dialogs (ordered by first message)."""
    groups: dict[str, list[SipPacket]] = {}
    for pkt in sip_packets:
        cid = pkt.msg.call_id
        if cid is None:
            continue
        groups.setdefault(cid, []).append(pkt)
    return correlate_and_order([_dialog(cid, pkts) for cid, pkts in groups.items()], correlate_headers)


def correlate_and_order(dialogs: list[Dialog], correlate_headers: Sequence[str]) -> list[Dialog]:
    """Link the B2BUA legs, then order by first message."""
    _correlate(dialogs, correlate_headers)
    dialogs.sort(key=lambda d: (d.start, d.messages[0].frame))
    return dialogs


def _dialog(call_id: str, pkts: list[SipPacket]) -> Dialog:
    first_req = next((p for p in pkts if p.msg.is_request), pkts[0])
    method = first_req.msg.method or (first_req.msg.cseq[1] if first_req.msg.cseq else "?")
    d = Dialog(
        call_id=call_id,
        method=method,
        from_uri=first_req.msg.from_uri,
        to_uri=first_req.msg.to_uri,
        start=pkts[0].ts,
        end=pkts[-1].ts,
        messages=pkts,
        user_agent=first_req.msg.user_agent,
        message_count=len(pkts),
    )
    txs: dict[tuple, Transaction] = {}
    seen: set[tuple] = set()
    for pkt in pkts:
        d.retransmitted.append(fold_message(txs, d.transactions, seen, pkt, pkt))
    finish_dialog(d)
    return d


def fold_message(txs: dict[tuple, Transaction], order: list[Transaction], seen: Any,
                 pkt: SipPacket, kept: SipPacket, *, hashed: bool = False) -> bool:
    """Add one message to its transaction (created in `order` when new): `kept` is what
    the transaction holds for it. True when it is a retransmission, judged by its
    identity (hop, transaction, status, To-tag) being in `seen` (as a hash: `hashed`)."""
    m = pkt.msg
    cseq = m.cseq or (0, m.method or "?")
    tx_method = "ACK" if m.method == "ACK" else cseq[1]
    key = (m.branch, cseq[0], tx_method)
    tx = txs.get(key)
    if tx is None:
        tx = txs[key] = Transaction(m.branch, cseq[0], tx_method)
        order.append(tx)
    hop = (pkt.src, pkt.sport, pkt.dst, pkt.dport)
    ident: object = (hop, key, m.status, m.to_tag if not m.is_request else None)
    if hashed:
        ident = hash(ident)
    again = ident in seen
    seen.add(ident)
    if again:
        tx.retransmissions += 1
    elif m.is_request:
        if tx.request is None:
            tx.request = kept
    else:
        tx.responses.append(kept)
    return again


def initial_transaction(d: Dialog) -> Transaction | None:
    """The transaction that decided the dialog: the out-of-dialog request of the initial
    method with the highest CSeq (the one after any auth challenge), first hop seen."""
    candidates = [
        t for t in d.transactions
        if t.method == d.method and t.request is not None and t.request.msg.to_tag is None
    ]
    if not candidates:
        candidates = [t for t in d.transactions if t.method == d.method]
    if not candidates:
        return None
    top = max(t.cseq for t in candidates)
    return next(t for t in candidates if t.cseq == top)


def finish_dialog(d: Dialog) -> None:
    """Final status, PDD, answer and end times from the dialog's transactions."""
    tx = initial_transaction(d)
    if tx is None:
        return
    d.final_status = tx.final_status
    if d.method == "INVITE" and tx.request is not None:
        d.pdd_ms = _pdd(tx)
    if d.method != "INVITE":
        return
    ok = next((r for r in tx.responses if r.msg.status is not None and 200 <= r.msg.status < 300), None)
    if ok is None:
        return
    d.answered_at = ok.ts
    byes = d.bye_times if d.bye_times is not None else [p.ts for p in d.messages if p.msg.method == "BYE"]
    bye = next((ts for ts in byes if ts >= ok.ts), None)
    if bye is not None:
        d.ended_at = bye
        d.duration_s = round(bye - ok.ts, 6)


def _pdd(tx: Transaction) -> float | None:
    assert tx.request is not None
    for r in tx.responses:
        status = r.msg.status or 0
        if status in RINGING or (status >= 200 and status not in CHALLENGES and status != 402):
            return round((r.ts - tx.request.ts) * 1000.0, 3)
    return None


def _correlate(dialogs: list[Dialog], headers: Sequence[str]) -> None:
    """Link B2BUA legs: a leg that carries X-CID: <other Call-ID> joins that call."""
    if not headers:
        return
    by_id = {d.call_id: d for d in dialogs}
    parent: dict[str, str] = {cid: cid for cid in by_id}

    def root(cid: str) -> str:
        while parent[cid] != cid:
            parent[cid] = parent[parent[cid]]
            cid = parent[cid]
        return cid

    for d in dialogs:
        for value in _link_values(d, headers):
            if value in by_id and value != d.call_id:
                a, b = root(d.call_id), root(value)
                if a != b:
                    parent[a] = b
    groups: dict[str, list[str]] = {}
    for cid in by_id:
        groups.setdefault(root(cid), []).append(cid)
    for members in groups.values():
        if len(members) > 1:
            for cid in members:
                by_id[cid].legs = sorted(m for m in members if m != cid)


def _link_values(d: Dialog, headers: Sequence[str]) -> Iterator[str]:
    """Correlation header values of a dialog's messages, stripped, in message order."""
    if d.links is not None:
        yield from d.links
        return
    for pkt in d.messages:
        for name in headers:
            value = pkt.msg.header(name)
            if value:
                yield value.strip()


def dialogs_for(dialogs: list[Dialog], call_ids: Iterable[str]) -> list[Dialog]:
    """The dialogs named plus their correlated legs, in start order."""
    wanted = set(call_ids)
    for d in dialogs:
        if d.call_id in wanted:
            wanted.update(d.legs)
    return [d for d in dialogs if d.call_id in wanted]


def sdp_media(dialogs: Iterable[Dialog]) -> Iterator[tuple[Dialog, SipPacket, SdpMedia]]:
    """Every media line offered or answered in the dialogs' SDP, with its dialog and message."""
    for d in dialogs:
        for pkt in d.messages:
            if pkt.msg.sdp is not None:
                for m in pkt.msg.sdp.media:
                    yield d, pkt, m


class CallSelector:
    """A scan filter (capture.records.SipFilter) keeping the messages of some calls only.

    Wanted: Call-IDs equal to or starting with one given, and the B2BUA legs linked to
    them through a correlation header, in either direction. Before parsing, a message is
    kept only when a wanted Call-ID occurs in its bytes (a plain substring test), so
    memory holds the chosen calls, never the capture. A leg learnt during a scan may
    have had messages earlier in the file: `grew` then says the scan must be repeated
    (with everything learnt so far wanted from the start).
    """

    def __init__(self, call_ids: Iterable[str], correlate: Sequence[str] = DEFAULT_CORRELATION) -> None:
        self.given = tuple(call_ids)
        self.correlate = tuple(correlate)
        self.wanted: set[str] = set()
        self.needles: list[bytes] = []
        self.grew = False
        for cid in self.given:
            self._add(cid)

    def _add(self, cid: str) -> None:
        if cid not in self.wanted:
            self.wanted.add(cid)
            self.needles.append(cid.encode("utf-8", "replace"))

    def _is_wanted(self, cid: str) -> bool:
        return cid in self.wanted or cid.startswith(self.given)

    def wants_raw(self, raw: bytes) -> bool:
        return any(needle in raw for needle in self.needles)

    def wants(self, pkt: SipPacket) -> bool:
        cid = pkt.msg.call_id
        if cid is None:
            return False
        linked = [v.strip() for v in (pkt.msg.header(h) for h in self.correlate) if v and v.strip() != cid]
        if self._is_wanted(cid):
            self._add(cid)  # a prefix match: every message of it holds the prefix, none was missed
            for other in linked:
                if other not in self.wanted:
                    self._add(other)
                    self.grew = True
            return True
        if any(self._is_wanted(other) for other in linked):
            self._add(cid)
            self.grew = True
            return True
        return False
