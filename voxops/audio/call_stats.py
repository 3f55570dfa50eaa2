"""Conversation KPIs over a whole capture: agent response latency and dead-air share per
carrier trunk and per agent (`voxops stats --audio`).

Every answered call with RTP to its SDP addresses is decoded. The signalling of the
answered calls is read once, their RTP rows once, and the payloads are read back for a
batch of calls at a time (at most BATCH_PACKETS packets held), so memory stays bounded by
the batch, not by the capture.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from voxops.analysis.audio_kpi import AudioKpi, AudioStats
from voxops.audio.call import CallAudio, decode_dialog, media_sides, split_directions
from voxops.audio.conversation import Thresholds, up_mask
from voxops.audio.timeline import FRAME_S
from voxops.capture.payloads import read_rtp

if TYPE_CHECKING:
    from voxops.analysis.dialogs import Dialog
    from voxops.analysis.hops import CallPath
    from voxops.analysis.policy import Policy
    from voxops.capture.records import UdpTable

BATCH_PACKETS = 400_000  # RTP packets read back at once (~70 MB of G.711 at 20 ms)
GRACE_S = 2.0  # RTP this long after the BYE still belongs to the call; later, a port reused by another


@dataclass(frozen=True)
class CallFigures:
    trunk: str | None
    agent: str | None
    latencies: list[float]
    up_s: float
    dead_air_s: float


def figures(call: CallAudio, trunk: str | None, agent: str | None) -> CallFigures:
    frames = max(len(s.voice.voiced) for s in call.sides.values())
    up = up_mask(frames, call.answered, call.ended, call.holds)
    dead = sum(i.end - i.start for i in call.conversation.dead_air)
    return CallFigures(trunk, agent, [t.latency_ms for t in call.conversation.turns],
                       float(up.sum()) * FRAME_S, dead)


def _kpi(calls: Sequence[CallFigures]) -> AudioKpi:
    latencies = [v for c in calls for v in c.latencies]
    up, dead = sum(c.up_s for c in calls), sum(c.dead_air_s for c in calls)

    def pct(q: float) -> float | None:
        return round(float(np.percentile(latencies, q)), 1) if latencies else None

    return AudioKpi(calls=len(calls), turns=len(latencies), response_latency_p50_ms=pct(50),
                    response_latency_p95_ms=pct(95), up_s=round(up, 2), dead_air_s=round(dead, 2),
                    dead_air_share=round(dead / up, 4) if up else None)


def summarise(calls: Sequence[CallFigures], undecoded: list[str]) -> AudioStats:
    by_trunk: dict[str, list[CallFigures]] = {}
    by_agent: dict[str, list[CallFigures]] = {}
    for c in calls:
        if c.trunk is not None:
            by_trunk.setdefault(c.trunk, []).append(c)
        if c.agent is not None:
            by_agent.setdefault(c.agent, []).append(c)
    return AudioStats(all=_kpi(calls), trunks={k: _kpi(v) for k, v in sorted(by_trunk.items())},
                      agents={k: _kpi(v) for k, v in sorted(by_agent.items())}, undecoded=undecoded)


def call_agent(path: CallPath, policy: Policy) -> str | None:
    """The agent of a call: the spec's agent that took or placed it; without a spec the
    node that answered the last hop's INVITE."""
    from voxops.analysis.hops import ANSWERED

    attempts = [a for h in path.hops for a in h.attempts if a.outcome == ANSWERED]
    named = next((a.to for a in attempts if a.role == "agent"), None)
    if named is None and path.hops and path.hops[0].role == "agent":
        named = path.hops[0].node
    if named is None and not policy.agent_addresses and path.hops:
        last = [a for a in path.hops[-1].attempts if a.outcome == ANSWERED]
        named = last[-1].to_address.rsplit(":", 1)[0] if last else None
    return named


def _batches(work: list[tuple[Dialog, dict[str, np.ndarray]]]) -> Iterator[list[tuple[Dialog, dict[str, np.ndarray]]]]:
    batch: list[tuple[Dialog, dict[str, np.ndarray]]] = []
    held = 0
    for item in work:
        size = sum(len(r) for r in item[1].values())
        if batch and held + size > BATCH_PACKETS:
            yield batch
            batch, held = [], 0
        batch.append(item)
        held += size
    if batch:
        yield batch


def decoded_calls(pcap: Path, dialogs: list[Dialog], udp: UdpTable, *, limits: Thresholds,
                  warn: Callable[[str], None]) -> Iterator[tuple[Dialog, CallAudio | None]]:
    """Each answered dialog with its decoded audio (None: no RTP, or a side whose packets
    could not be decoded)."""
    work = []
    for d in dialogs:
        if d.method != "INVITE" or d.answered_at is None:
            continue
        until = np.inf if d.ended_at is None else d.ended_at + GRACE_S
        rows = {side: r[(udp.ts[r] >= d.start) & (udp.ts[r] <= until)]
                for side, r in split_directions(udp, media_sides(d)[0]).items()}
        if not any(len(r) for r in rows.values()):
            yield d, None
            continue
        work.append((d, rows))
    for batch in _batches(work):
        frames = np.concatenate([udp.frame[r] for _, rows in batch for r in rows.values()])
        rtp = read_rtp(pcap, frames, warn)
        for d, rows in batch:
            call = decode_dialog(d, udp, rows, rtp, limits=limits)
            heard = [any(seg.codecs for seg in s.audio.segments) for s in call.sides.values() if s.packets]
            # half a conversation would count the undecoded side's words as dead air
            yield d, call if heard and all(heard) else None


def audio_stats(pcap: Path, answered_ids: Sequence[str], policy: Policy, *,
                warn: Callable[[str], None]) -> AudioStats:
    """The conversation KPIs of the answered calls named (with their correlated legs)."""
    from voxops.analysis.dialogs import CallSelector, build_dialogs
    from voxops.analysis.hops import call_path
    from voxops.analysis.ladder import media_rows
    from voxops.analysis.loader import select_call_sip
    from voxops.analysis.trunk_kpi import call_groups, call_trunk
    from voxops.audio.conversation import thresholds_of
    from voxops.capture.engines import load_capture

    if not answered_ids:
        return summarise([], [])
    dialogs = build_dialogs(select_call_sip(pcap, answered_ids, warn=warn))
    udp = load_capture(pcap, udp_keep=lambda table: media_rows(dialogs, table), sip_filter=CallSelector(())).udp
    decoded = {d.call_id: call for d, call in decoded_calls(pcap, dialogs, udp, limits=thresholds_of(policy), warn=warn)}
    calls, undecoded = [], []
    for group in call_groups(dialogs):
        heard = [call for call in (decoded.get(d.call_id) for d in group) if call is not None]
        if not any(d.call_id in decoded for d in group):
            continue  # not answered
        if not heard:
            undecoded.append(group[0].call_id)
            continue
        # a call through a proxy or a B2BUA is heard on every leg: the agent-facing leg is its last
        path = call_path(group, policy)
        calls.append(figures(heard[-1], call_trunk(path, policy), call_agent(path, policy)))
    return summarise(calls, undecoded)
