"""What a drill reports: pass / fail checks with figures, and where the evidence is."""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from voxops.findings import Finding


class Check(BaseModel):
    """One promise of the spec, measured."""

    model_config = ConfigDict(extra="forbid")

    name: str
    passed: bool | None = Field(description="false (or null) when the check could not run (see note); fails the drill")
    measured: str
    promise: str
    value: float | None = None
    limit: float | None = None
    note: str | None = None


class DrillReport(BaseModel):
    """JSON of `voxops lab drill NAME --format json` (field names are a public interface)."""

    model_config = ConfigDict(extra="forbid")

    drill: str
    passed: bool
    spec: str
    fault: str
    started: float
    duration_s: float
    checks: list[Check]
    figures: dict[str, Any] = Field(default_factory=dict)
    findings: list[Finding] = Field(default_factory=list, description="what diagnose / the probes reported")
    runbook: str | None = None
    call_id: str | None = Field(default=None, description="the representative call of the ladder")
    capture: str | None = None
    ladder: str | None = None
    report: str | None = None


def verdict(checks: list[Check]) -> bool:
    """A drill passes when it made at least one check and every check passed: a check
    that could not run is no evidence the promise is kept."""
    return bool(checks) and all(c.passed is True for c in checks)


def render_text(report: DrillReport) -> str:
    from voxops.text.safe_text import visible_fields

    report = visible_fields(report)  # findings and the call quote the lab's capture
    mark = {True: "pass", False: "FAIL", None: "FAIL"}
    lines = [
        f"drill {report.drill}: {'PASSED' if report.passed else 'FAILED'} "
        f"({report.duration_s:.1f} s, {time.strftime('%H:%M:%S', time.localtime(report.started))})",
        f"  fault: {report.fault}",
    ]
    width = max((len(c.name) for c in report.checks), default=10)
    for c in report.checks:
        lines.append(f"  [{mark[c.passed]}] {c.name:<{width}}  {c.measured}  (promise: {c.promise})")
        if c.note:
            lines.append(f"         {'':<{width}}  {c.note}")
    for f in report.findings:
        lines.append(f"  finding {f.code} [{f.severity.value}] {f.message} -> runbook {f.runbook}")
    if report.runbook:
        lines.append(f"  runbook: voxops/data/runbooks/{report.runbook}.md")
    for label, value in (("call", report.call_id), ("capture", report.capture), ("ladder", report.ladder), ("report", report.report)):
        if value:
            lines.append(f"  {label}: {value}")
    return "\n".join(lines) + "\n"
