"""Finished dialogs kept on disk, so a capture of any number of calls lists in flat memory.

A dialog that has ended is folded into a `FinishedCall` (the fields of a `calls` row,
what `stats` reads and its SDP media endpoints) and appended to an unlinked temporary
file; memory keeps 32 bytes a call for sorting (start, order seen, offset, Call-ID
hash) and the correlation header values of the dialogs that carry one.

Read back, the calls come in start order (as `build_dialogs` orders them) with their
B2BUA legs. A Call-ID folded twice (a message seen after its dialog was folded, which
the scan's linger time makes rare) is merged into one call: counts add up, the later
part's BYE ends an answered call.
"""

from __future__ import annotations

import pickle
import tempfile
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from voxops.analysis.dialogs import Dialog

# (connection address, port, frame of the SDP, rtpmap items)
Endpoint = tuple[str, int, int, tuple[tuple[int, tuple[str, int, int]], ...]]
# (CSeq method, final status, start, retransmissions) of each non-ACK transaction
TxRecord = tuple[str, int | None, float, int]


@dataclass(slots=True)
class FinishedCall:
    """One dialog, folded: what `calls` prints and `stats` counts (duck-types a Dialog there)."""

    call_id: str
    method: str
    from_uri: str | None
    to_uri: str | None
    start: float
    end: float
    final_status: int | None
    duration_s: float | None
    pdd_ms: float | None
    answered_at: float | None
    message_count: int
    retransmissions: int
    user_agent: str | None
    first_frame: int
    src: str  # hop of the first request (else of the first message): the trunk
    dst: str
    byes: tuple[float, ...]
    txs: tuple[TxRecord, ...]
    endpoints: tuple[Endpoint, ...]
    links: tuple[str, ...]
    legs: list[str]


def finished_call(d: Dialog) -> FinishedCall:
    """The folded form of a finished dialog (its messages, transactions and SDP reduced)."""
    first = next((p for p in d.messages if p.msg.is_request), d.messages[0])
    txs: tuple[TxRecord, ...] = ()
    if d.method == "INVITE":  # the KPIs count the transactions of calls only
        txs = tuple((t.method, t.final_status, t.start or d.start, t.retransmissions)
                    for t in d.transactions if t.method != "ACK")
    endpoints = tuple(
        (m.connection, m.port, pkt.frame, tuple(m.rtpmap.items()))
        for pkt in d.messages if pkt.msg.sdp is not None
        for m in pkt.msg.sdp.media if m.port and m.connection
    )
    byes = d.bye_times if d.bye_times is not None else [p.ts for p in d.messages if p.msg.method == "BYE"]
    return FinishedCall(
        call_id=d.call_id, method=d.method, from_uri=d.from_uri, to_uri=d.to_uri, start=d.start, end=d.end,
        final_status=d.final_status, duration_s=d.duration_s, pdd_ms=d.pdd_ms, answered_at=d.answered_at,
        message_count=d.message_count or len(d.messages), retransmissions=d.retransmissions,
        user_agent=d.user_agent, first_frame=d.messages[0].frame, src=first.src, dst=first.dst,
        byes=tuple(byes), txs=txs, endpoints=endpoints, links=tuple(d.links or ()), legs=list(d.legs),
    )


def _merged(parts: list[FinishedCall]) -> FinishedCall:
    """One call from the parts of a Call-ID folded more than once (start order)."""
    head = parts[0]
    for part in parts[1:]:
        head.end = max(head.end, part.end)
        head.message_count += part.message_count
        head.retransmissions += part.retransmissions
        head.byes += part.byes
        head.txs += part.txs
        head.endpoints += part.endpoints
        if head.final_status is None:
            head.final_status, head.pdd_ms, head.answered_at = part.final_status, part.pdd_ms, part.answered_at
    if head.answered_at is not None and head.duration_s is None:
        bye = next((ts for ts in sorted(head.byes) if ts >= head.answered_at), None)
        if bye is not None:
            head.duration_s = round(bye - head.answered_at, 6)
    return head


class CallStore:
    """Finished calls in an unlinked temporary file; read back in start order with legs."""

    def __init__(self, correlate: Sequence[str]) -> None:
        self.correlate = tuple(correlate)
        self.file: IO[bytes] = tempfile.TemporaryFile(prefix="voxops-calls-")  # noqa: SIM115 - closed in close()
        self.offsets = array("q")
        self.starts = array("d")
        self.hashes = array("q")
        # order of first message: frame order, and within one frame (a TCP segment) message order
        self.seqs = array("q")
        self.links: list[tuple[str, tuple[str, ...]]] = []  # (Call-ID, header values) when any
        self.written = 0
        self._legs: dict[str, tuple[str, ...]] | None = None  # once read back
        self._twice: set[int] = set()

    def __len__(self) -> int:
        return len(self.offsets)

    def close(self) -> None:
        self.file.close()

    def add(self, call: FinishedCall, seq: int) -> None:
        assert self._legs is None, "a call added after the store was read"
        data = pickle.dumps(_fields(call), protocol=pickle.HIGHEST_PROTOCOL)
        self.file.write(data)
        self.offsets.append(self.written)
        self.written += len(data)
        self.starts.append(call.start)
        self.hashes.append(hash(call.call_id))
        self.seqs.append(seq)
        if call.links:
            self.links.append((call.call_id, call.links))

    def _read(self, index: int) -> FinishedCall:
        self.file.seek(self.offsets[index])
        return FinishedCall(*pickle.load(self.file))  # noqa: S301 - our own file, unlinked, 0600

    def order(self) -> np.ndarray:
        """Record indexes in start order (ties: the order first seen, which is frame order)."""
        if not self.offsets:
            return np.zeros(0, np.int64)
        return np.lexsort((np.frombuffer(self.seqs, np.int64),
                           np.frombuffer(self.starts, np.float64)))

    def _prepare(self) -> None:
        """Legs and the Call-IDs folded twice, once (the links are then dropped)."""
        if self._legs is not None:
            return
        known = np.sort(np.frombuffer(self.hashes, np.int64))
        self._twice = {int(h) for h in known[1:][known[1:] == known[:-1]].tolist()}
        self._legs = self._groups(known) if self.correlate else {}
        self.links = []

    def _groups(self, known: np.ndarray) -> dict[str, tuple[str, ...]]:
        """Call-ID -> every Call-ID of its call, for the linked calls (as dialogs._correlate);
        one tuple per call, shared by its legs."""
        parent: dict[str, str] = {}

        def root(cid: str) -> str:
            parent.setdefault(cid, cid)
            while parent[cid] != cid:
                parent[cid] = parent[parent[cid]]
                cid = parent[cid]
            return cid

        for cid, values in self.links:
            for value in values:
                at = int(np.searchsorted(known, hash(value)))
                if value != cid and at < len(known) and known[at] == hash(value):
                    a, b = root(cid), root(value)
                    if a != b:
                        parent[a] = b
        groups: dict[str, list[str]] = {}
        for cid in parent:
            groups.setdefault(root(cid), []).append(cid)
        parent.clear()
        out: dict[str, tuple[str, ...]] = {}
        for members in groups.values():
            if len(members) > 1:
                shared = tuple(sorted(members))
                out.update(dict.fromkeys(shared, shared))
        return out

    def legs(self, cid: str) -> list[str]:
        """The other legs of the call of `cid` (sorted)."""
        self._prepare()
        assert self._legs is not None
        return [m for m in self._legs.get(cid, ()) if m != cid]

    def endpoints(self, addresses: set[str]) -> Iterator[tuple[str, Endpoint]]:
        """(Call-ID, endpoint) of the SDP media lines at one of these addresses (calls' order)."""
        if addresses:
            for call in self.calls():
                for endpoint in call.endpoints:
                    if endpoint[0] in addresses:
                        yield call.call_id, endpoint

    def calls(self) -> Iterator[FinishedCall]:
        """Every call once, in start order, legs set."""
        self._prepare()
        order = self.order()
        hashes = np.frombuffer(self.hashes, np.int64)
        twice = self._twice
        parts: dict[str, list[FinishedCall]] = {}
        if twice:  # the parts of each Call-ID folded twice, collected in start order
            for index in _each(order):
                if int(hashes[index]) in twice:
                    call = self._read(index)
                    parts.setdefault(call.call_id, []).append(call)
        for index in _each(order):
            if twice and int(hashes[index]) in twice:
                call = self._read(index)
                group = parts.get(call.call_id, [])
                if not group or group[0].first_frame != call.first_frame or group[0].start != call.start:
                    continue  # a later part: merged into the first
                call = _merged(group)
            else:
                call = self._read(index)
            call.legs = self.legs(call.call_id)
            yield call


def _each(order: np.ndarray, chunk: int = 1 << 16) -> Iterator[int]:
    """The indexes as Python ints, a slice at a time (a list of a million would be 36 MB)."""
    for at in range(0, len(order), chunk):
        yield from order[at:at + chunk].tolist()


def _fields(call: FinishedCall) -> tuple[object, ...]:
    return tuple(getattr(call, name) for name in FinishedCall.__slots__)  # type: ignore[attr-defined]
