"""The drills: each injects one fault while calls run and measures the spec's promise."""

from __future__ import annotations

import time

from voxops.lab import consult
from voxops.lab.checks import calls_check, last, names_fault, ping_promise
from voxops.lab.context import Drill, DrillContext
from voxops.lab.dnsfault import split_vantages
from voxops.lab.faults import SilentPeer, dispatcher_flags, wait_for
from voxops.lab.media_drills import media_blackhole, media_relay_down
from voxops.lab.scenarios import CarrierMode
from voxops.lab.sipp import calls_seen
from voxops.lab.stack import sip_answers
from voxops.lab.tlsfault import expiring_endpoint


def _sbc_ctls(ctx: DrillContext) -> dict[str, str]:
    """SBC node address -> its control socket."""
    state = ctx.lab.state()
    return {p.address or "": p.ctl for p in state.processes.values() if p.role == "sbc" and p.ctl}


def _dispatcher_detection(
    ctx: DrillContext, process: str, address: str, port: int, *, crash: bool = False
) -> set[str]:
    """Stop a dispatcher destination, stand a silent peer in its place, and time how long
    each SBC node takes from the first unanswered ping to marking it inactive."""
    promise_s, promise_text = ping_promise(ctx.promise)
    ctls = _sbc_ctls(ctx)
    dest = f"{address}:{port}"
    # the way back is registered before the fault: an interrupt may land in between
    ctx.restore.append(lambda: _bring_back(ctx, process, dest))
    silent = SilentPeer(address, port)
    ctx.restore.append(silent.close)  # runs before the way back: the address must be free
    ctx.lab.stop_process(process, crash=crash)
    t_fault = time.time()
    with silent as peer:
        detected: dict[str, float] = {}

        def all_down() -> bool:
            for node, ctl in ctls.items():
                if node not in detected and dispatcher_flags(ctl).get(dest, "").startswith("I"):
                    detected[node] = time.time()
            return len(detected) == len(ctls)

        wait_for(all_down, timeout_s=promise_s * 3 + 15, step_s=0.1)
        worst: float | None = None
        for node in ctls:
            first_miss = peer.first_options(t_fault, source=node)
            if node in detected and first_miss is not None:
                took = detected[node] - first_miss
                worst = took if worst is None else max(worst, took)
                ctx.figures[f"detection_s.{node}"] = round(took, 3)
                ctx.figures[f"fault_to_detection_s.{node}"] = round(detected[node] - t_fault, 3)
        invited = peer.invited_calls()
    if worst is None:
        ctx.check(
            "detection time", False, "not detected", f"<= {promise_s:g} s ({promise_text})",
            limit=promise_s, note=f"no SBC node marked {dest} inactive within {promise_s * 3 + 15:g} s",
        )  # fmt: skip
    else:
        ctx.check(
            "detection time", worst <= promise_s,
            f"{worst:.2f} s from the first unanswered ping", f"<= {promise_s:g} s ({promise_text})",
            value=round(worst, 3), limit=promise_s,
        )  # fmt: skip
    ctx.figures["fault_at"] = t_fault
    ctx.figures["calls_sent_to_the_dead_peer"] = len(invited)
    return invited


def _bring_back(ctx: DrillContext, process: str, dest: str) -> None:
    ctx.lab.restart(process)
    ctls = _sbc_ctls(ctx)
    # the next drill starts from a healthy lab: wait until every node probes it active again
    wait_for(
        lambda: all(dispatcher_flags(c).get(dest, "A").startswith("A") for c in ctls.values()),
        timeout_s=ping_promise(ctx.topology)[0] * 2 + 10,
    )


# --- the drills ------------------------------------------------------------------------


def trunk_down(ctx: DrillContext) -> None:
    carrier, trunk = ctx.topology.trunks()[0]
    host = trunk.hosts[0]
    promise_s, _ = ping_promise(ctx.promise)
    # calls cover the whole fault: until the slowest node can have marked the trunk down
    count = max(4, int(ctx.load.rate * (promise_s + ctx.topology.sbc.failover_timeout_ms / 1000 + 4)))
    ctx.fault = f"{trunk.name} ({host.address}:{host.port}) stops answering, calls going out"
    calls = ctx.calls(inbound=False, count=count)
    calls.wait_answered()  # the fault lands while calls flow
    invited = _dispatcher_detection(ctx, trunk.name, host.address, host.port)
    batch = calls.wait()
    ctx.figures["calls"] = batch.model_dump(exclude={"calls"})
    calls_check(ctx, batch.failed, batch.placed, "failover to the next carrier")
    # the ladder shows a call that met the dead trunk and was rerouted
    rerouted = [c for c in batch.answered_call_ids if c in invited]
    ctx.call_id = rerouted[0] if rerouted else last(batch.answered_call_ids)
    names_fault(ctx, "voxops probe names the fault", consult.probe(ctx.promise_spec, trunk.name), {"trunk-down"},
                "trunk-down")


def agent_down(ctx: DrillContext) -> None:
    agent, *others = ctx.topology.agents.instances
    promise_s, _ = ping_promise(ctx.promise)
    if not others:
        ctx.fault = f"{agent.name} crashes"
        ctx.check("a surviving agent", False, "1 agent", ">= 2 agent instances")
        return
    # no more calls at once than the surviving agents can hold: this drill is not overload
    surviving = sum(a.max_calls for a in others)
    rate = min(ctx.load.rate, max(0.2, surviving / (ctx.load.hold_s + 1.0) / 2))
    count = max(4, int(rate * (promise_s + ctx.topology.sbc.failover_timeout_ms / 1000 + 4)))
    ctx.fault = f"{agent.name} ({agent.host}:{agent.sip_port}) crashes (SIGKILL), calls coming in"
    calls = ctx.calls(inbound=True, count=count, rate=rate)
    calls.wait_answered()  # the fault lands while calls flow
    invited = _dispatcher_detection(ctx, agent.name, agent.host, agent.sip_port, crash=True)
    batch = calls.wait()
    ctx.figures["calls"] = batch.model_dump(exclude={"calls"})
    calls_check(ctx, batch.failed, batch.placed, "retried on the next agent")
    rerouted = [c for c in batch.answered_call_ids if c in invited]
    ctx.call_id = rerouted[0] if rerouted else last(batch.answered_call_ids)
    ctx.runbook = "agent-pool-saturated"


def sbc_node_down(ctx: DrillContext) -> None:
    nodes = ctx.topology.sbc.nodes
    if len(nodes) < 2:
        ctx.fault = f"{nodes[0].name} stops"
        ctx.check("a surviving SBC node", False, "1 node", ">= 2 nodes (active-active pair)")
        return
    victim, survivor = nodes[-1], nodes[0]
    v_addr, v_port = ctx.node(len(nodes) - 1)
    promise_s, promise_text = ping_promise(ctx.promise)
    ctx.fault = f"{victim.name} ({v_addr}:{v_port}) stops; calls continue through {survivor.name}"
    count = max(4, int(ctx.load.rate * 4))
    calls = ctx.calls(inbound=True, count=count, node=0)
    calls.wait_answered()  # the fault lands while calls flow
    ctx.restore.append(lambda: ctx.lab.restart(victim.name))
    ctx.lab.stop_process(victim.name)
    t_fault = time.time()
    # a carrier pinging the pair with the spec's OPTIONS policy
    interval = ctx.promise.trunks()[0][1].options_ping.interval_s
    misses, seen_down = 0, None
    threshold = ctx.promise.trunks()[0][1].options_ping.failure_threshold
    deadline = t_fault + promise_s * 2 + 10
    while time.time() < deadline and seen_down is None:
        if sip_answers(v_addr, v_port, timeout_s=min(1.0, interval)):
            misses = 0
        else:
            misses += 1
            if misses >= threshold:
                seen_down = time.time()
                break
        time.sleep(max(0.0, interval - min(1.0, interval)))
    took = None if seen_down is None else seen_down - t_fault
    ctx.check(
        "detection time", took is not None and took <= promise_s + 1.0,
        "not detected" if took is None else f"{took:.2f} s (OPTIONS to {victim.name})",
        f"<= {promise_s:g} s ({promise_text}) + 1 s ping timeout",
        value=None if took is None else round(took, 3), limit=promise_s + 1.0,
    )  # fmt: skip
    batch = calls.wait()
    ctx.figures["calls"] = batch.model_dump(exclude={"calls"})
    calls_check(ctx, batch.failed, batch.placed, f"{survivor.name} carries the calls")
    ctx.call_id = last(batch.answered_call_ids)
    names_fault(ctx, "voxops probe names the fault", consult.probe(ctx.promise_spec, victim.name),
                {"sbc-node-down"}, "sbc-failover")


def overload(ctx: DrillContext) -> None:
    adm = ctx.topology.sbc.admission
    pool = sum(a.max_calls for a in ctx.topology.agents.instances)
    capacity = min(adm.max_concurrent_calls, pool) if adm else pool
    extra = max(2, capacity // 2)
    placed = capacity + extra
    rate = max(ctx.load.rate, placed / 2.0)
    hold = placed / rate + 3.0
    ctx.fault = f"{placed} concurrent calls offered to a capacity of {capacity}"
    batch = ctx.calls(inbound=True, count=placed, rate=rate, hold_s=hold).wait()
    busy = [c.call_id for c in batch.calls if c.status == "486"]
    ctx.call_id = busy[0] if busy else last(batch.answered_call_ids)
    ctx.runbook = "agent-pool-saturated"
    ivr = ctx.topology.sbc.ivr_fallback

    def judge() -> None:
        from voxops.lab.answers import answered_uris

        nodes = {n.address for n in ctx.topology.sbc.nodes}
        uris = answered_uris(ctx.capture, nodes)
        by_ivr = sum(1 for c in batch.answered_call_ids if uris.get(c, "").startswith("sip:ivr@"))
        by_pool = batch.answered - by_ivr
        share = batch.busy / placed
        ctx.figures.update(
            {"capacity": capacity, "offered": placed, "calls": batch.model_dump(exclude={"calls"}),
             "answered_by_pool": by_pool, "answered_by_ivr": by_ivr, "busy_share": round(share, 3)}
        )  # fmt: skip
        where = " or sent to the IVR" if ivr else ""
        ctx.check(
            "486 share at overload", batch.busy + by_ivr >= extra,
            f"{share:.0%} 486 ({batch.busy}/{placed})" + (f", {by_ivr} answered by the IVR" if ivr else ""),
            f">= {extra / placed:.0%}: every call beyond {capacity} refused with 486{where}",
            value=round(share, 3), limit=round(extra / placed, 3),
        )  # fmt: skip
        ctx.check(
            "calls admitted to the pool", by_pool <= capacity, f"{by_pool}",
            f"<= {capacity} (never a 200 it cannot serve)", value=by_pool, limit=capacity,
        )  # fmt: skip
        ctx.check(
            "other failures", batch.failed == 0, f"{batch.failed} ({batch.codes})", "0: answered or 486 only",
            value=batch.failed, limit=0,
        )  # fmt: skip

    ctx.after_capture.append(judge)


def _media_fault(ctx: DrillContext, mode: CarrierMode, codes: set[str], runbook: str) -> None:
    """Switch the first trunk's carrier to `mode`, place test calls (each from its own RTP
    port, through the node's media relay) until one lands on it, then ask diagnose."""
    carrier, trunk = ctx.topology.trunks()[0]
    ctx.fault = f"{trunk.name} answers in mode {mode.value}"
    ctx.restore.append(lambda: ctx.lab.set_carrier_mode(trunk.name, CarrierMode.answer))
    ctx.lab.set_carrier_mode(trunk.name, mode)
    hit = None
    for _ in range(10):
        call = ctx.test_call(inbound=False, seconds=max(1.0, ctx.load.hold_s))
        if call.status == 200 and call.call_id in calls_seen(ctx.lab.carrier_log(trunk.name)):
            hit = call
            break
    ctx.call_id = hit.call_id if hit else None
    ctx.figures["call_id"] = ctx.call_id
    if hit is None:
        ctx.check("a call through the faulty trunk", False, "none answered", "at least one")
        return
    ctx.figures.update(rtp_local=hit.rtp_local, rtp_remote=hit.rtp_remote)
    ctx.after_capture.append(
        lambda: names_fault(ctx, "voxops diagnose names the fault", consult.diagnose(hit.call_id, ctx.capture,
                            ctx.promise_spec), codes, runbook)
    )


def transcode(ctx: DrillContext) -> None:
    _media_fault(ctx, CarrierMode.transcode, {"transcoding"}, "silent-transcoding")


def one_way_audio(ctx: DrillContext) -> None:
    _media_fault(ctx, CarrierMode.one_way, {"one-way-audio"}, "one-way-audio")


DRILLS: dict[str, Drill] = {
    "trunk-down": trunk_down,
    "sbc-node-down": sbc_node_down,
    "agent-down": agent_down,
    "overload": overload,
    "transcode": transcode,
    "one-way-audio": one_way_audio,
    "cert-expiry": expiring_endpoint,
    "dns-split": split_vantages,
    "media-relay-down": media_relay_down,
    "media-blackhole": media_blackhole,
}
