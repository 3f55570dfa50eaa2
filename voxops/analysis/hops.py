"""A call as a path of hops: who sent the INVITE to whom, each attempt's outcome, failovers.

One model for both shapes a capture on an SBC node shows:
- a proxy (Kamailio) keeps the Call-ID on every hop: each hop's INVITE is its own
  transaction (the proxy puts its own Via branch on top), so the transactions of one
  dialog are the attempts of its hops;
- a B2BUA gives each leg its own Call-ID, linked by a correlation header (`Dialog.legs`):
  the transactions of all the legs together are the path.

A hop is everything one node sent for the call (caller -> sbc, then sbc -> carrier-a,
sbc -> carrier-b...); hops are ordered by their first INVITE. An attempt is one initial
INVITE transaction: answered, rejected (final code), cancelled, or not answered at all
after N transmissions. The carrier-facing hop gives the call's trunk: inbound, the carrier
the INVITE came from; outbound, the carrier that answered (else the last one tried).
Pure: works on full dialogs and on the compact ones of `DialogSummaries`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voxops.analysis.dialogs import Dialog, Transaction
    from voxops.analysis.policy import Policy

ANSWERED, REJECTED, CANCELLED, NO_ANSWER, RINGING = "answered", "rejected", "cancelled", "no-answer", "no-final"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One INVITE transaction from a hop's sender to one next node."""

    to: str  # the node the INVITE went to: spec name, else address:port
    to_address: str  # address:port
    role: str | None  # carrier | sbc | agent, from the spec; null without one
    trunk: str | None  # carrier/trunk when the node is a carrier
    call_id: str
    sent_at: float  # epoch seconds of the first transmission
    transmissions: int  # the INVITE and its retransmissions
    outcome: str  # answered | rejected | cancelled | no-final (provisional only) | no-answer
    final_status: int | None
    responses: list[int]  # distinct response codes, in order
    frame: int  # frame of the first transmission


@dataclass(frozen=True, slots=True)
class CallHop:
    """What one node sent for the call: the attempts toward the next node(s), in order."""

    index: int
    node: str  # the sender: spec name, else address
    address: str
    role: str | None
    trunk: str | None  # carrier/trunk when the sender is a carrier
    attempts: list[Attempt]


@dataclass(frozen=True, slots=True)
class Failover:
    node: str  # the node that failed over
    failed: str  # the node that did not take the call
    to: str  # the node tried next
    after_s: float  # from the first attempt's INVITE to the next one's
    reason: str  # no-answer | no-final | <status code>
    message: str


@dataclass(frozen=True, slots=True)
class CallPath:
    hops: list[CallHop]
    failovers: list[Failover]
    trunk: str | None
    trunks_tried: list[str]  # every carrier trunk an INVITE was sent to, in order
    direction: str | None  # inbound (from a carrier) | outbound (to a carrier) | null


def role_of(address: str, policy: Policy) -> str | None:
    if address in policy.trunk_addresses:
        return "carrier"
    if address in policy.sbc_addresses:
        return "sbc"
    if address in policy.agent_addresses:
        return "agent"
    return None


def node_name(address: str, port: int | None, policy: Policy) -> str:
    name = policy.names.get(address)
    if name is not None:
        return name.split("/", 1)[0] if address in policy.trunk_addresses else name
    return f"{address}:{port}" if port is not None else address


def initial_invites(dialogs: Iterable[Dialog]) -> list[tuple[Dialog, Transaction]]:
    """The initial (out-of-dialog) INVITE transactions of the dialogs, by first transmission."""
    out = []
    for d in dialogs:
        for tx in d.transactions:
            req = tx.request
            if tx.method == "INVITE" and req is not None and req.msg.to_tag is None:
                out.append((d, tx))
    out.sort(key=lambda item: (item[1].request.ts, item[1].request.frame))  # type: ignore[union-attr]
    return out


def _cancelled(dialogs: Sequence[Dialog]) -> set[tuple[str, str | None]]:
    return {(d.call_id, tx.branch) for d in dialogs for tx in d.transactions
            if tx.method == "CANCEL" and tx.request is not None}


def _attempt(d: Dialog, tx: Transaction, cancelled: set[tuple[str, str | None]], policy: Policy) -> Attempt:
    req = tx.request
    assert req is not None
    codes: list[int] = []
    for r in tx.responses:
        if r.msg.status is not None and r.msg.status not in codes and (r.src, r.dst) == (req.dst, req.src):
            codes.append(r.msg.status)
    final = next((c for c in codes if c >= 200), None)
    return Attempt(
        to=node_name(req.dst, req.dport, policy), to_address=f"{req.dst}:{req.dport}",
        role=role_of(req.dst, policy), trunk=policy.trunk_addresses.get(req.dst), call_id=d.call_id,
        sent_at=req.ts, transmissions=1 + tx.retransmissions,
        outcome=_hop_outcome(final, bool(codes), (d.call_id, tx.branch) in cancelled),
        final_status=final, responses=codes, frame=req.frame,
    )


def _hop_outcome(final: int | None, any_response: bool, cancelled: bool) -> str:
    if final is not None and 200 <= final < 300:
        return ANSWERED
    if cancelled and (final is None or final == 487):
        return CANCELLED
    if final is not None:
        return REJECTED
    return RINGING if any_response else NO_ANSWER


def call_path(dialogs: Sequence[Dialog], policy: Policy) -> CallPath:
    """The hops of one call (a dialog and its correlated legs)."""
    cancelled = _cancelled(dialogs)
    by_sender: dict[str, list[Attempt]] = {}
    senders: dict[str, tuple[str, int]] = {}
    for d, tx in initial_invites(dialogs):
        req = tx.request
        assert req is not None
        by_sender.setdefault(req.src, []).append(_attempt(d, tx, cancelled, policy))
        senders.setdefault(req.src, (req.src, req.sport))
    hops = [
        CallHop(index=i, node=node_name(addr, port, policy), address=addr, role=role_of(addr, policy),
                trunk=policy.trunk_addresses.get(addr), attempts=by_sender[addr])
        for i, (addr, port) in enumerate(senders.values())
    ]
    failovers = [f for h in hops for f in _failovers(h)]
    trunk, tried, direction = _trunk(hops)
    return CallPath(hops=hops, failovers=failovers, trunk=trunk, trunks_tried=tried, direction=direction)


def _trunk(hops: list[CallHop]) -> tuple[str | None, list[str], str | None]:
    tried = [a.trunk for h in hops for a in h.attempts if a.trunk is not None]
    tried = list(dict.fromkeys(tried))
    if hops and hops[0].role == "carrier":
        return hops[0].trunk, tried, "inbound"
    carrier = [a for h in hops for a in h.attempts if a.role == "carrier"]
    if carrier:
        answered = next((a for a in carrier if a.outcome == ANSWERED), carrier[-1])
        return answered.trunk, tried, "outbound"
    return None, tried, None


def _failovers(hop: CallHop) -> list[Failover]:
    out = []
    for prev, nxt in zip(hop.attempts, hop.attempts[1:], strict=False):
        if prev.outcome == ANSWERED or prev.to_address == nxt.to_address:
            continue  # an auth retry goes to the same node
        after = round(nxt.sent_at - prev.sent_at, 3)
        if prev.outcome == NO_ANSWER:
            retrans = prev.transmissions - 1
            what = (f"{prev.to} did not answer the INVITE" if retrans == 0 else
                    f"{prev.to} did not answer the INVITE or its {retrans} retransmission{'s' * (retrans > 1)}")
            reason = NO_ANSWER
        elif prev.outcome == RINGING:
            what, reason = f"{prev.to} sent no final answer ({', '.join(map(str, prev.responses))} only)", RINGING
        else:
            what, reason = f"{prev.to} answered {prev.final_status}", str(prev.final_status)
        out.append(Failover(node=hop.node, failed=prev.to, to=nxt.to, after_s=after, reason=reason,
                            message=f"{what}; {hop.node} failed over to {nxt.to} after {after:.1f} s"))
    return out
