"""Findings about a call's path: failovers between nodes, and who refused a call with 486.

Each finding names the place in spec names (when a spec is given) in its message and in
the evidence fields `hop` ("sbc-1 -> carrier-a") and `node`.
"""

from __future__ import annotations

from voxops.analysis import faults as F
from voxops.analysis.hops import ANSWERED, Attempt, CallPath
from voxops.analysis.policy import Policy
from voxops.findings import Finding, Severity

SERVER_FAILURES = (500, 503, 504)


def failover_findings(path: CallPath, final_status: int | None) -> list[Finding]:
    """One finding per failover: the call went on, but the node that did not take it needs a look."""
    answered = final_status is not None and 200 <= final_status < 300
    outcome = "the call was answered through another hop" if answered else (
        f"the call ended on {final_status}" if final_status else "the call got no final answer")
    out = []
    attempts = {(a.to, a.sent_at): a for h in path.hops for a in h.attempts}
    for f in path.failovers:
        failed = next(a for (to, _), a in attempts.items() if to == f.failed)
        hop = f"{f.node} -> {f.failed}"
        if failed.final_status in SERVER_FAILURES:
            out.append(F.SERVICE_UNAVAILABLE(
                f"{f.message}; {outcome}", severity=Severity.warning if answered else None,
                where=f"frame {failed.frame}", status=failed.final_status, answered_by=failed.to_address,
                failover=True, hop=hop, node=f.failed))
        else:
            out.append(F.FAILOVER(f"{f.message}; {outcome}", where=f"frame {failed.frame}", hop=hop, node=f.failed,
                                  transmissions=failed.transmissions, after_s=f.after_s))
    return out


def refusing_attempt(path: CallPath, status: int) -> Attempt | None:
    """The attempt whose next node originated the refusal: it got `status` and sent no
    INVITE onward itself (a relaying proxy forwards the refusal it got)."""
    senders = {h.address for h in path.hops}
    for h in reversed(path.hops):
        for a in reversed(h.attempts):
            if a.final_status == status and a.to_address.rsplit(":", 1)[0] not in senders:
                return a
    return None


def busy_origin(path: CallPath, policy: Policy) -> tuple[str, str] | None:
    """('admission' | 'agent-pool', who) when our side refused with 486, else None (a
    carrier's callee was busy). Without a spec any 486 is taken as our pool's."""
    refused = refusing_attempt(path, 486)
    if refused is None:
        return None
    if refused.role == "sbc":
        return "admission", refused.to
    if refused.role == "agent":
        return "agent-pool", refused.to
    if refused.role == "carrier":
        return None
    if not policy.agent_addresses and not policy.sbc_addresses:
        return "agent-pool", refused.to
    return None


def busy_finding(path: CallPath, policy: Policy, where: str) -> Finding | None:
    origin = busy_origin(path, policy)
    if origin is None:
        return None
    kind, who = origin
    if kind == "admission":
        first = path.hops[0].node if path.hops else "the caller"
        message = (f"call refused with 486 (busy here) by {who}'s admission control: the SBC was at its "
                   f"concurrent-call limit and tried no {'agent' if path.hops and path.hops[0].role == 'carrier' else 'carrier'}"
                   f" (call from {first})")
    else:
        message = f"call refused with 486 (busy here) by {who} (agent pool): no agent free"
    refused = refusing_attempt(path, 486)
    return F.BUSY_HERE(message, where=where, status=486, refused_by=kind, node=who,
                       hop=f"{_sender_of(path, who)} -> {who}",
                       answered_by=refused.to_address if refused else None)


def _sender_of(path: CallPath, to: str) -> str:
    for h in path.hops:
        if any(a.to == to for a in h.attempts):
            return h.node
    return "?"


def answered_attempt(path: CallPath) -> Attempt | None:
    return next((a for h in reversed(path.hops) for a in h.attempts if a.outcome == ANSWERED), None)
