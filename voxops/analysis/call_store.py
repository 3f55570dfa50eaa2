"""Finished dialogs kept on disk, so a capture of any number of calls lists in flat memory.

A dialog that has ended is appended, in the compact form `DialogSummaries` builds (the
messages and transactions summaries, KPIs, call paths and stream matching read), to an
unlinked temporary file (the first HELD_DIALOGS stay in memory: small captures need no
file); memory keeps 32 bytes a call for sorting (start, order seen,
offset, Call-ID hash) and the correlation header values of the dialogs that carry one.

Read back, the dialogs come in start order (as `build_dialogs` orders them) with their
B2BUA legs, one at a time, so `calls` and `stats` run the same code on them as on
dialogs held in memory. A Call-ID folded twice (a message seen after its dialog was
folded, which the scan's linger time makes rare) is merged into one dialog.
"""

from __future__ import annotations

import copy
import pickle
import tempfile
from array import array
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from voxops.analysis.dialogs import Dialog

_CHUNK = 1 << 16
HELD_DIALOGS = 2000  # up to this many, dialogs stay in memory (no pickling for small captures)


def merged(parts: list[Dialog]) -> Dialog:
    """One dialog from the parts of a Call-ID folded more than once (start order)."""
    from voxops.analysis.dialogs import finish_dialog

    head = parts[0]
    for part in parts[1:]:
        head.end = max(head.end, part.end)
        head.messages = [*head.messages, *part.messages]
        head.transactions = [*head.transactions, *part.transactions]
        head.message_count += part.message_count
        head.retransmission_count += part.retransmission_count
        head.bye_times = [*(head.bye_times or ()), *(part.bye_times or ())]
        head.links = [*(head.links or ()), *(part.links or ())]
    head.final_status = head.pdd_ms = head.answered_at = head.ended_at = head.duration_s = None
    finish_dialog(head)
    return head


class CallStore:
    """Finished dialogs in an unlinked temporary file; read back in start order with legs."""

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
        self.held: list[Dialog] | None = []  # the first HELD_DIALOGS stay in memory
        self._legs: dict[str, tuple[str, ...]] | None = None  # once read back
        self._twice: set[int] = set()
        self._by_hash: tuple[np.ndarray, np.ndarray] | None = None  # sorted hashes, their records

    def __len__(self) -> int:
        return len(self.offsets)

    def __enter__(self) -> CallStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.file.close()

    def add(self, dialog: Dialog, seq: int) -> None:
        assert self._legs is None, "a dialog added after the store was read"
        if self.held is not None and len(self.held) >= HELD_DIALOGS:  # many calls: from now on on disk
            held, self.held = self.held, None
            for index, d in enumerate(held):
                self.offsets[index] = self._write(d)
        if self.held is not None:
            self.held.append(dialog)
            self.offsets.append(-1)
        else:
            self.offsets.append(self._write(dialog))
        self.starts.append(dialog.start)
        self.hashes.append(hash(dialog.call_id))
        self.seqs.append(seq)
        if dialog.links:
            self.links.append((dialog.call_id, tuple(v.strip() for v in dialog.links)))

    def _write(self, dialog: Dialog) -> int:
        at = self.written
        self.file.seek(at)
        data = pickle.dumps(dialog, protocol=pickle.HIGHEST_PROTOCOL)
        self.file.write(data)
        self.written += len(data)
        return at

    def _read(self, index: int) -> Dialog:
        if self.held is not None:
            return self.held[index]
        self.file.seek(self.offsets[index])
        return pickle.load(self.file)  # type: ignore[no-any-return]  # noqa: S301 - our own file, unlinked

    def order(self) -> np.ndarray:
        """Record indexes in start order (ties: the order first seen, which is frame order)."""
        if not self.offsets:
            return np.zeros(0, np.int64)
        return np.lexsort((np.frombuffer(self.seqs, np.int64), np.frombuffer(self.starts, np.float64)))

    def _prepare(self) -> None:
        """Legs and the Call-IDs folded twice, once (the links are then dropped)."""
        if self._legs is not None:
            return
        hashes = np.frombuffer(self.hashes, np.int64)
        by = np.argsort(hashes, kind="stable")
        known = hashes[by]
        self._by_hash = (known, by)
        self._twice = {int(h) for h in known[1:][known[1:] == known[:-1]].tolist()}
        self._legs = self._groups() if self.correlate else {}
        self.links = []

    def _groups(self) -> dict[str, tuple[str, ...]]:
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
                if value != cid and self._records(value):
                    a, b = root(cid), root(value)
                    if a != b:
                        parent[a] = b
        groups: dict[str, list[str]] = {}
        for cid in parent:
            groups.setdefault(root(cid), []).append(cid)
        out: dict[str, tuple[str, ...]] = {}
        for members in groups.values():
            if len(members) > 1:
                shared = tuple(sorted(members))
                out.update(dict.fromkeys(shared, shared))
        return out

    def _records(self, cid: str) -> list[int]:
        """Record indexes of the Call-ID (one, or more when it was folded twice)."""
        if self._by_hash is None:
            hashes = np.frombuffer(self.hashes, np.int64)
            by = np.argsort(hashes, kind="stable")
            self._by_hash = (hashes[by], by)
        known, by = self._by_hash
        h = hash(cid)
        lo, hi = int(np.searchsorted(known, h)), int(np.searchsorted(known, h, side="right"))
        return [i for i in by[lo:hi].tolist() if hi - lo == 1 or self._read(i).call_id == cid]

    def dialog(self, cid: str) -> Dialog | None:
        """The stored dialog of a Call-ID (parts merged), legs set."""
        self._prepare()
        records = self._records(cid)
        if not records:
            return None
        parts = [copy.copy(self._read(i)) for i in sorted(records, key=lambda i: (self.starts[i], self.seqs[i]))]
        if parts[0].call_id != cid:
            return None
        d = merged(parts) if len(parts) > 1 else parts[0]
        d.legs = self.legs(cid)
        return d

    def legs(self, cid: str) -> list[str]:
        """The other legs of the call of `cid` (sorted)."""
        self._prepare()
        assert self._legs is not None
        return [m for m in self._legs.get(cid, ()) if m != cid]

    def dialogs(self) -> Iterator[Dialog]:
        """Every dialog once, in start order, legs set."""
        self._prepare()
        order = self.order()
        hashes = np.frombuffer(self.hashes, np.int64)
        twice = self._twice
        for at in range(0, len(order), _CHUNK):
            for index in order[at:at + _CHUNK].tolist():
                if twice and int(hashes[index]) in twice:
                    d = self._read(index)
                    first = min(self._records(d.call_id), key=lambda i: (self.starts[i], self.seqs[i]))
                    if first != index:
                        continue  # a later part: merged into the first
                    whole = self.dialog(d.call_id)
                    assert whole is not None
                    yield whole
                else:
                    d = self._read(index)
                    d.legs = self.legs(d.call_id)
                    yield d

    def leg_dialogs(self, d: Dialog) -> list[Dialog]:
        """The dialogs of the other legs of `d`'s call (`call_groups` and `summarize` order)."""
        return [leg for c in d.legs if (leg := self.dialog(c)) is not None]

    def groups(self) -> Iterator[list[Dialog]]:
        """Each call once, a dialog with its legs' dialogs, as `trunk_kpi.call_groups`."""
        done: set[str] = set()  # legs read with their call's first INVITE dialog, until met
        for d in self.dialogs():
            if d.call_id in done:
                done.discard(d.call_id)
                continue
            if d.method != "INVITE":
                continue
            legs = self.leg_dialogs(d)
            done.update(g.call_id for g in legs)
            yield [d, *legs]

    def media_dialogs(self, addresses: Sequence[str]) -> list[Dialog]:
        """The dialogs whose SDP names one of these addresses (those the capture has UDP
        of) with their legs' dialogs, in start order: what stream matching reads."""
        if not addresses or not self.offsets:
            return []
        wanted = set(addresses)
        out = [d for d in self.dialogs()
               if any(m.connection in wanted for pkt in d.messages if pkt.msg.sdp is not None
                      for m in pkt.msg.sdp.media)]
        held = {d.call_id for d in out}
        for cid in sorted({c for d in out for c in d.legs} - held):
            leg = self.dialog(cid)
            if leg is not None:
                out.append(leg)
        out.sort(key=lambda d: (d.start, d.messages[0].frame))
        return out
