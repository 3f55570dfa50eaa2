"""OPTIONS probe metrics in the Prometheus text format, for node_exporter's textfile collector."""

from __future__ import annotations

import time
from pathlib import Path

from voxops.output_file import write_atomic
from voxops.probes.monitor import State, TargetStatus

_METRICS = [
    ("voxops_sip_options_up", "gauge", "1 when the target is up by the failure-threshold rule, 0 when down."),
    ("voxops_sip_options_rtt_seconds", "gauge", "Round-trip time of the last answered OPTIONS."),
    ("voxops_sip_options_last_code", "gauge", "Status code of the last OPTIONS reply (0 when none came)."),
    ("voxops_sip_options_consecutive_failures", "gauge", "Missed OPTIONS in a row."),
    ("voxops_sip_options_probes_total", "counter", "OPTIONS sent since the prober started."),
    ("voxops_sip_options_failures_total", "counter", "OPTIONS missed since the prober started."),
    ("voxops_sip_options_last_probe_timestamp_seconds", "gauge", "Unix time of the last probe."),
]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    # shortest exact spelling: whole numbers without ".0", timestamps without exponent
    return str(int(value)) if value.is_integer() else repr(round(value, 6))


def _samples(s: TargetStatus) -> dict[str, float | None]:
    return {
        # an unknown state has no sample: a missing series alerts nobody falsely
        "voxops_sip_options_up": None if s.state is State.unknown else float(s.state is State.up),
        "voxops_sip_options_rtt_seconds": None if s.last_rtt_ms is None else s.last_rtt_ms / 1000,
        "voxops_sip_options_last_code": float(s.last_code or 0),
        "voxops_sip_options_consecutive_failures": float(s.consecutive_failures),
        "voxops_sip_options_probes_total": float(s.probes),
        "voxops_sip_options_failures_total": float(s.failures),
        "voxops_sip_options_last_probe_timestamp_seconds": s.last_probe_at,
    }


def render(statuses: list[TargetStatus]) -> str:
    per_target = [(s, _samples(s)) for s in statuses]
    lines: list[str] = []
    for name, kind, help_text in _METRICS:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        for s, samples in per_target:
            value = samples[name]
            if value is None:
                continue
            t = s.target
            labels = (
                f'target="{_escape(t.name)}",kind="{t.kind}",address="{_escape(t.host)}",'
                f'port="{t.port}",transport="{t.transport}"'
            )
            lines.append(f"{name}{{{labels}}} {_number(value)}")
    lines += [
        "# HELP voxops_probe_last_run_timestamp_seconds Unix time this file was written.",
        "# TYPE voxops_probe_last_run_timestamp_seconds gauge",
        f"voxops_probe_last_run_timestamp_seconds {time.time():.3f}",
    ]
    return "\n".join(lines) + "\n"


def write_textfile(path: Path, statuses: list[TargetStatus]) -> None:
    """Write atomically (temp file in the same directory, then rename): the collector
    never reads a half-written file."""
    write_atomic(path, render(statuses))
