"""Per-trunk records for the KPIs: each call once, on its carrier-facing hop.

- a call (a dialog and its correlated legs) is one `CallLine`, whatever number of hops
  the capture shows it on; its trunk is `CallPath.trunk`;
- per trunk, every carrier tried gets one attempt: a carrier that never answered the
  INVITE counts as a 408 (as the SBC's failure route and its metrics see it), one that
  refused counts with its code, and the last one tried (inbound: the carrier the call
  came from) with the call's own record: its outcome, PDD and talk time;
- response codes and retransmissions are those of the transactions exchanged with the
  carrier only (never the copies on the caller's or the agent's hop).
Without a spec the carrier-facing hop is the last one: its next node stands for the trunk,
by address. The SBC and the agents are never trunks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from voxops.analysis import kpi
from voxops.analysis.hops import ANSWERED, NO_ANSWER, Attempt, CallPath, call_path

if TYPE_CHECKING:
    from voxops.analysis.dialogs import Dialog
    from voxops.analysis.policy import Policy

NO_ANSWER_STATUS = 408


def call_groups(dialogs: list[Dialog]) -> Iterator[list[Dialog]]:
    """Each call once: a dialog with its correlated legs, at the first of them."""
    by_id = {d.call_id: d for d in dialogs}
    done: set[str] = set()
    for d in dialogs:
        if d.method != "INVITE" or d.call_id in done:
            continue
        group = [d, *(by_id[c] for c in d.legs if c in by_id)]
        done.update(g.call_id for g in group)
        yield group


def _carrier_attempts(path: CallPath, policy: Policy) -> tuple[list[Attempt], Callable[[str], str | None]]:
    """The attempts toward carriers and a function naming the trunk of an address."""
    if policy.trunk_addresses:
        attempts = [a for h in path.hops for a in h.attempts if a.role == "carrier"]
        return attempts, policy.trunk_addresses.get
    if not path.hops:
        return [], lambda _addr: None
    last = path.hops[-1].attempts
    facing = {a.to_address.rsplit(":", 1)[0] for a in last}
    return last, lambda addr: addr if addr in facing else None


def call_trunk(path: CallPath, policy: Policy) -> str | None:
    if path.trunk is not None or policy.trunk_addresses:
        return path.trunk
    attempts, _ = _carrier_attempts(path, policy)
    chosen = next((a for a in attempts if a.outcome == ANSWERED), attempts[-1] if attempts else None)
    return chosen.to_address.rsplit(":", 1)[0] if chosen else None


def trunk_records(group: list[Dialog], policy: Policy) -> tuple[str | None, list[kpi.CallRecord],
                                                                  list[kpi.TransactionRecord]]:
    """The call's trunk, one record per carrier attempt that did not take the call (the
    call's own record stands for the attempt that did), its carrier-side transactions."""
    path = call_path(group, policy)
    attempts, trunk_of = _carrier_attempts(path, policy)
    earlier = [
        kpi.CallRecord(group[0].call_id, a.sent_at, a.trunk or trunk_of(a.to_address.rsplit(":", 1)[0]),
                       NO_ANSWER_STATUS if a.outcome == NO_ANSWER else a.final_status, None, None)
        for a in attempts[:-1]
    ]
    return call_trunk(path, policy), earlier, list(_transactions(group, trunk_of))


def _transactions(group: list[Dialog], trunk_of: Callable[[str], str | None]) -> Iterator[kpi.TransactionRecord]:
    for d in group:
        for t in d.transactions:
            req = t.request
            if t.method == "ACK" or req is None:
                continue
            trunk = trunk_of(req.dst) or trunk_of(req.src)
            if trunk is not None:
                yield kpi.TransactionRecord(trunk, t.method, t.final_status, t.start or d.start, t.retransmissions)
