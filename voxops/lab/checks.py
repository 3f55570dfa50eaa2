"""Checks the drills share: the spec's ping promise, failed calls, a consulted check naming
the fault, relay sessions left behind."""

from __future__ import annotations

from voxops.lab.consult import Consulted
from voxops.lab.context import DrillContext
from voxops.spec.models import Topology


def ping_promise(topology: Topology) -> tuple[float, str]:
    ping = topology.trunks()[0][1].options_ping
    return (
        float(ping.interval_s * ping.failure_threshold),
        f"OPTIONS every {ping.interval_s} s x {ping.failure_threshold} misses",
    )


def calls_check(ctx: DrillContext, batch_failed: int, placed: int, what: str) -> None:
    ctx.check(
        "calls failed during the fault", batch_failed == 0, f"{batch_failed} of {placed}",
        f"0 ({what})", value=batch_failed, limit=0,
    )  # fmt: skip


def names_fault(ctx: DrillContext, name: str, answer: Consulted, codes: set[str], runbook: str, *,
                node: str | None = None) -> None:
    """Pass when the consulted check reported one of `codes` pointing at `runbook` (with
    `node`: a finding of one of `codes` that names that SBC node); a check that gave no
    answer (it raised) fails, with why."""
    found, why = answer
    ctx.runbook = runbook
    if why is not None:
        ctx.check(name, False, "no report", f"a finding {'/'.join(sorted(codes))}", note=why)
        return
    hits = [f for f in found if f.code in codes or f.runbook == runbook]
    ctx.findings.extend(hits or found)
    ok = any(f.runbook == runbook for f in hits)
    measured = ", ".join(f"{f.code} -> {f.runbook}" for f in hits) or "no such finding"
    promise = f"{'/'.join(sorted(codes))} -> runbook {runbook}"
    if node is not None:
        ok = any(f.code in codes and (f.evidence.get("node") == node or node in f.message) for f in hits)
        promise += f", naming {node}"
    ctx.check(name, ok, measured, promise)


def last(ids: list[str]) -> str | None:
    return ids[-1] if ids else None
