"""The media-plane drills: an SBC node's relay stops (`media-relay-down`) or silently drops
one direction of every call (`media-blackhole`), while SIP looks healthy."""

from __future__ import annotations

import functools
import time

from voxops.lab import consult
from voxops.lab.checks import calls_check, names_fault
from voxops.lab.context import DrillContext
from voxops.lab.deployed import relay_name
from voxops.lab.faults import wait_for
from voxops.lab.relay import Blackhole, calls_held, relay_of
from voxops.lab.scenarios import CarrierMode
from voxops.probes.call_report import CallResult

MEDIA_RUNBOOK = "one-way-audio"
FAILOVER_CALLS = 4


def _has_relays(ctx: DrillContext, nodes_needed: int) -> bool:
    sbc = ctx.topology.sbc
    if sbc.media is None or len(sbc.nodes) < nodes_needed:
        ctx.fault = "the media relay of an SBC node fails"
        ctx.check("SBC nodes with a media relay", False, f"{len(sbc.nodes)} node(s), relay "
                  f"{'on' if sbc.media else 'off'}", f">= {nodes_needed} nodes and sbc.media set")
        return False
    return True


def _two_way(call: CallResult) -> bool:
    return call.status == 200 and call.rtp_received > call.rtp_sent // 2


def media_relay_down(ctx: DrillContext) -> None:
    """Stop the relay of the last node while calls run through the first: the last node
    answers 503 Media Relay Unavailable, a carrier retrying on the first node gets its call
    answered, and the probes name the relay."""
    if not _has_relays(ctx, 2):
        return
    nodes = ctx.topology.sbc.nodes
    victim_index = len(nodes) - 1
    victim, survivor = nodes[victim_index], nodes[0]
    relay = relay_of(ctx.topology, victim_index)
    ctx.fault = f"the media relay of {victim.name} (ng {relay[0]}:{relay[1]}) stops; {survivor.name} keeps its relay"
    # a light load: with the test calls it stays within the agents' capacity (not an overload drill)
    load = ctx.calls(inbound=True, count=4, node=0)
    load.wait_answered()  # the fault lands while calls flow
    ctx.restore.append(lambda: _relay_back(ctx, victim_index))
    ctx.lab.stop_process(relay_name(victim.name))
    t_fault = time.time()
    refused: list[CallResult] = []
    taken: list[CallResult] = []
    for _ in range(FAILOVER_CALLS):
        first = ctx.test_call(inbound=True, node=victim_index, seconds=0.5)
        if first.status == 503:
            refused.append(first)
        # a carrier whose call is refused tries the next SBC node of the SRV set
        taken.append(ctx.test_call(inbound=True, node=0, seconds=1.0) if first.status != 200 else first)
    ctx.figures["fault_at"] = t_fault
    ctx.figures["failover_calls_s"] = round(time.time() - t_fault, 3)
    ctx.check(
        f"{victim.name} refuses calls with 503", len(refused) == FAILOVER_CALLS,
        f"{len(refused)} of {FAILOVER_CALLS} ({', '.join(sorted({f'{c.status} {c.reason}' for c in refused})) or 'none'})",
        "every call: 503 Media Relay Unavailable (never a 200 without media)", value=len(refused),
        limit=FAILOVER_CALLS,
    )  # fmt: skip
    good = sum(_two_way(c) for c in taken)
    ctx.check(
        f"calls taken by {survivor.name}", good == FAILOVER_CALLS, f"{good} of {FAILOVER_CALLS} with audio both ways",
        f"{FAILOVER_CALLS}: the carrier's retry on the other node is answered", value=good, limit=FAILOVER_CALLS,
    )  # fmt: skip
    batch = load.wait()
    ctx.figures["calls"] = batch.model_dump(exclude={"calls"})
    calls_check(ctx, batch.failed, batch.placed, f"{survivor.name} and its relay carry them")
    ctx.call_id = refused[0].call_id if refused else None
    names_fault(ctx, "voxops probe names the relay", consult.probe(ctx.promise_spec, victim.name),
                {"media-relay-down"}, MEDIA_RUNBOOK, node=victim.name)
    names_fault(ctx, "voxops probe --call names the relay", consult.call(ctx.promise_spec, victim.name),
                {"media-relay-down"}, MEDIA_RUNBOOK, node=victim.name)


def _relay_back(ctx: DrillContext, index: int) -> None:
    """Start the relay again and wait until its node takes calls (Kamailio retries a relay
    it marked down after rtpengine_disable_tout)."""
    ctx.lab.restart(relay_name(ctx.topology.sbc.nodes[index].name))
    wait_for(lambda: ctx.test_call(inbound=True, node=index, seconds=0.2).status == 200, timeout_s=30, step_s=1.0)


def media_blackhole(ctx: DrillContext) -> None:
    """The first node's relay drops what the answering side sends on every new call: the
    caller hears nothing. `probe --call` and `diagnose` must name that relay; calls that
    fail after the relay took their offer must leave no session behind."""
    if not _has_relays(ctx, 1):
        return
    node = ctx.topology.sbc.nodes[0]
    relay = relay_of(ctx.topology, 0)
    ctx.fault = f"the media relay of {node.name} (ng {relay[0]}:{relay[1]}) drops the agents' audio"
    hole = Blackhole(relay, {a.host for a in ctx.topology.agents.instances})
    ctx.restore.append(hole.stop)
    hole.start()
    call = ctx.test_call(inbound=True, node=0, seconds=3.0)
    ctx.call_id = call.call_id
    ctx.figures.update(call_id=call.call_id, status=call.status, rtp_sent=call.rtp_sent,
                       rtp_received=call.rtp_received, relay=call.relay.model_dump() if call.relay else None)
    names_fault(ctx, "voxops probe --call names the relay", consult.call(ctx.promise_spec, node.name),
                {"relay-drops-media", "one-way-audio", "no-media"}, MEDIA_RUNBOOK, node=node.name)
    hole.stop()
    ctx.figures["calls_blocked"] = len(hole.blocked)
    _leak_check(ctx)
    ctx.after_capture.append(
        lambda: names_fault(ctx, "voxops diagnose names the relay", consult.diagnose(call.call_id, ctx.capture,
                            ctx.promise_spec), {"relay-drops-media"}, MEDIA_RUNBOOK, node=node.name)
    )


def _leak_check(ctx: DrillContext) -> None:
    """Calls refused after the relay took their offer (every carrier busy: 486) must not
    leave a session on the relay: the failure route deletes it."""
    relay = relay_of(ctx.topology, 0)
    carriers = [trunk.name for _, trunk in ctx.topology.trunks()]
    for name in carriers:
        ctx.restore.append(functools.partial(ctx.lab.set_carrier_mode, name, CarrierMode.answer))
        ctx.lab.set_carrier_mode(name, CarrierMode.busy)
    failed = [ctx.test_call(inbound=False, node=0, seconds=0.2) for _ in range(2)]
    ids = {c.call_id for c in failed}
    wait_for(lambda: not (ids & calls_held(relay)), timeout_s=3.0, step_s=0.1)
    left = ids & calls_held(relay)
    codes = ", ".join(str(c.status) for c in failed)
    ctx.figures["failed_calls"] = {"codes": codes, "sessions_left": len(left)}
    ctx.check(
        "relay sessions left by failed calls", not left and all(c.status == 486 for c in failed),
        f"{len(left)} of {len(failed)} (answers {codes})", "0: the failure route deletes the session",
        value=len(left), limit=0,
    )  # fmt: skip
