"""dns-split: the spec's two DNS vantages disagree (a change propagated unevenly)."""

from __future__ import annotations

import functools

from voxops.lab import consult
from voxops.lab.checks import calls_check, names_fault
from voxops.lab.context import DrillContext
from voxops.lab.specfile import derived_spec

DECOMMISSIONED = "127.0.9.99"


def _records(ctx: DrillContext, stale: bool) -> list[str]:
    """dnsmasq flags serving the spec's expected records; `stale` answers the first
    A record with a decommissioned address instead."""
    args, staled = [], False
    for record in ctx.topology.dns.records:
        if record.type.value == "A":
            for address in record.expect:
                if stale and not staled:
                    address, staled = DECOMMISSIONED, True
                args.append(f"--host-record={record.name.rstrip('.')},{address}")
        elif record.type.value == "SRV":
            for answer in record.expect:
                prio, weight, port, target = answer.split()
                args.append(f"--srv-host={record.name.rstrip('.')},{target.rstrip('.')},{port},{prio},{weight}")
    return args


def _answers(address: str, port: int) -> bool:
    import dns.message
    import dns.query

    try:
        dns.query.udp(dns.message.make_query("voxops-lab.test", "A"), address, port=port, timeout=0.3)
        return True
    except Exception:  # noqa: BLE001 - not up yet, whatever the reason
        return False


def split_vantages(ctx: DrillContext) -> None:
    vantages = ctx.topology.dns.vantages
    if len(vantages) < 2:
        ctx.fault = "DNS answers differ between vantages"
        ctx.check("two DNS vantages", False, f"{len(vantages)}", ">= 2 vantages in the spec")
        return
    good, stale = vantages[0], vantages[1]
    first_a = next((r.name for r in ctx.topology.dns.records if r.type.value == "A"), "?")
    ctx.fault = f"vantage {stale.name} ({stale.address}) still answers {DECOMMISSIONED} for {first_a}"
    calls = ctx.calls(inbound=True, count=max(2, int(ctx.load.rate * 2)))
    for vantage, is_stale in ((good, False), (stale, True)):
        ctx.sup.start(
            f"dns-{vantage.name}",
            ["dnsmasq", "-k", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces",
             f"--listen-address={vantage.address}", f"--port={vantage.port}", "--pid-file=", "--log-facility=-",
             *_records(ctx, is_stale)],
            ready=functools.partial(_answers, vantage.address, vantage.port),
        )  # fmt: skip
    records = ctx.promise.dns.records
    if records:
        ctx.promise_spec = derived_spec(
            ctx.promise_spec, ctx.out / "spec",
            dns={"vantages": [v.model_dump(mode="json") for v in vantages],
                 "records": [r.model_dump(mode="json") for r in records]},
        )  # fmt: skip
    names_fault(ctx, "voxops dns names the fault", consult.dns(ctx.promise_spec),
                {"dns-split", "dns-mismatch", "dns-disagreement"}, "dns-propagation")
    batch = calls.wait()
    ctx.figures["calls"] = batch.model_dump(exclude={"calls"})
    calls_check(ctx, batch.failed, batch.placed, "calls through the SBC are not affected")
    ctx.call_id = batch.answered_call_ids[-1] if batch.answered_call_ids else None
