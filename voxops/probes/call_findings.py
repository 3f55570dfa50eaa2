"""What a test call's figures mean: findings that name the SBC node and its relay, and the
Prometheus textfile of `voxops probe --call`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from voxops.analysis.faults import (
    HIGH_PDD,
    LOW_MOS,
    NO_MEDIA,
    ONE_WAY_AUDIO,
    PACKET_LOSS,
    RELAY_DROPS_MEDIA,
    SETUP_FAILED,
)
from voxops.findings import Finding
from voxops.output_file import write_atomic
from voxops.probes.call_report import CallResult
from voxops.probes.monitor import MEDIA_RELAY_DOWN
from voxops.spec.models import Slo

RELAY_UNAVAILABLE = 503
# Less than 1/20 of the audio sent coming back is no audio: a path that dies a moment after
# the answer lets a packet or two through.
DEAD_SHARE = 20


def judge_call(c: CallResult, slo: Slo) -> list[Finding]:
    where = f"{c.node} ({c.target})"
    relay = c.relay.relay if c.relay else None
    common: dict[str, Any] = {"node": c.node, "call_id": c.call_id, "relay": relay}
    if c.status is None:
        return [SETUP_FAILED(f"test call through {where}: no final answer to the INVITE", where=where, **common)]
    if c.status == RELAY_UNAVAILABLE and "relay" in (c.reason or "").lower():
        return [MEDIA_RELAY_DOWN(f"test call through {where}: 503 {c.reason} (the node's media relay is down)",
                                 where=where, **common)]
    if c.status >= 300:
        return [SETUP_FAILED(f"test call through {where}: {c.status} {c.reason or ''}".rstrip(), where=where,
                             status=c.status, **common)]
    found: list[Finding] = []
    if c.pdd_ms is not None and c.pdd_ms > slo.pdd_max_ms:
        found.append(HIGH_PDD(f"test call through {where}: PDD {c.pdd_ms:.0f} ms > {slo.pdd_max_ms} ms",
                              where=where, pdd_ms=c.pdd_ms, **common))
    media = _media(c, where, common)
    if media is not None:
        return [*found, media]
    if c.loss_percent is not None and c.loss_percent > slo.loss_max_percent:
        found.append(PACKET_LOSS(f"test call through {where}: {c.loss_percent:g} % of the RTP coming back lost "
                                 f"(SLO {slo.loss_max_percent:g} %)", where=where, loss_percent=c.loss_percent, **common))
    if c.mos is not None and c.mos < slo.mos_min:
        found.append(LOW_MOS(f"test call through {where}: MOS {c.mos:.2f} < {slo.mos_min:g}", where=where,
                             mos=c.mos, **common))
    return found


def _media(c: CallResult, where: str, common: dict[str, Any]) -> Finding | None:
    """A one-way or dead media path, and which hop the relay's own counters point at."""
    if c.rtp_remote is None:
        return NO_MEDIA(f"test call through {where}: the 200 OK carried no audio address", where=where, **common)
    back = "no RTP came back" if not c.rtp_received else f"only {c.rtp_received} of {c.rtp_sent} RTP packets came back"
    if c.rtp_received * DEAD_SHARE >= c.rtp_sent:
        return None
    view = c.relay
    if view is None or view.from_caller is None:
        return ONE_WAY_AUDIO(f"test call through {where}: {c.rtp_sent} RTP packets sent, {back}",
                             where=where, rtp_sent=c.rtp_sent, **common)
    relay = f"the media relay of {c.node} ({view.relay})"
    if view.from_callee:
        why = (f"{relay} received {view.from_callee} packets from the far end and forwarded none to the caller: "
               "the relay drops media toward the caller")
    elif view.from_caller:
        why = (f"{relay} received {view.from_caller} packets from the caller and none from the far end: "
               "media toward the agent is dropped at the relay or the agent sends nothing")
    else:
        why = f"{relay} received none of the {c.rtp_sent} packets sent to it"
    code = RELAY_DROPS_MEDIA if view.from_callee else ONE_WAY_AUDIO if view.from_caller else NO_MEDIA
    return code(f"test call through {where}: {back}; {why}", where=f"{c.node} relay {view.relay}",
                rtp_sent=c.rtp_sent, relay_from_caller=view.from_caller, relay_from_callee=view.from_callee,
                **common)


_METRICS = [
    ("voxops_probe_call_answered", "1 when the test call was answered with 200."),
    ("voxops_probe_call_pdd_seconds", "INVITE to the first 180/183 (or the 200)."),
    ("voxops_probe_call_rtp_sent", "RTP packets the probe sent."),
    ("voxops_probe_call_rtp_received", "RTP packets that came back."),
    ("voxops_probe_call_loss_ratio", "Lost over expected of the RTP coming back."),
    ("voxops_probe_call_jitter_seconds", "Interarrival jitter of the RTP coming back (RFC 3550)."),
    ("voxops_probe_call_audio_round_trip_seconds", "Tone burst sent to heard back."),
    ("voxops_probe_call_mos", "Estimated MOS (E-model) of the audio coming back."),
    ("voxops_probe_call_relay_packets_from_caller", "RTP packets the node's relay received from the probe."),
    ("voxops_probe_call_relay_packets_from_callee", "RTP packets the node's relay received from the far end."),
]


def _samples(c: CallResult) -> list[float | None]:
    def scaled(value: float | None, by: float) -> float | None:
        return None if value is None else value / by

    relay = c.relay
    return [float(c.status == 200), scaled(c.pdd_ms, 1000), float(c.rtp_sent), float(c.rtp_received),
            scaled(c.loss_percent, 100), scaled(c.jitter_ms, 1000), scaled(c.round_trip_ms, 1000), c.mos,
            None if relay is None or relay.from_caller is None else float(relay.from_caller),
            None if relay is None or relay.from_callee is None else float(relay.from_callee)]


def render_textfile(calls: list[CallResult]) -> str:
    from voxops.probes.prometheus import _escape, _number

    lines: list[str] = []
    rows = [(c, _samples(c)) for c in calls]
    for i, (name, help_text) in enumerate(_METRICS):
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        for c, values in rows:
            value = values[i]
            if value is not None:
                lines.append(f'{name}{{node="{_escape(c.node)}",target="{_escape(c.target)}"}} {_number(value)}')
    lines += ["# HELP voxops_probe_call_last_run_timestamp_seconds Unix time this file was written.",
              "# TYPE voxops_probe_call_last_run_timestamp_seconds gauge",
              f"voxops_probe_call_last_run_timestamp_seconds {time.time():.3f}"]
    return "\n".join(lines) + "\n"


def write_call_textfile(path: Path, calls: list[CallResult]) -> None:
    write_atomic(path, render_textfile(calls))
