"""What every live check returns: findings, Nagios status lines with perfdata, exit codes."""

from __future__ import annotations

import re
from enum import IntEnum

from pydantic import BaseModel

from voxops.errors import ExitCode
from voxops.findings import Finding, Severity, fails
from voxops.text.safe_text import visible


class NagiosStatus(IntEnum):
    """Nagios plugin statuses: the exit code is the value."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


class PerfDatum(BaseModel):
    """One Nagios perfdata item: 'label'=value[uom];warn;crit;min;max."""

    label: str
    value: float
    uom: str = ""
    warn: float | None = None
    crit: float | None = None
    min: float | None = None
    max: float | None = None

    def render(self) -> str:
        label = re.sub(r"['=]", "_", self.label)
        tail = [self.warn, self.crit, self.min, self.max]
        while tail and tail[-1] is None:
            tail.pop()
        fields = ";".join("" if v is None else f"{v:g}" for v in tail)
        value = f"'{label}'={self.value:g}{self.uom}"
        return value + (";" + fields if fields else "")


def nagios_status(findings: list[Finding]) -> NagiosStatus:
    """error and critical findings are CRITICAL, warnings WARNING, info never alerts."""
    ranks = [f.severity.rank for f in findings]
    if any(r >= Severity.error.rank for r in ranks):
        return NagiosStatus.CRITICAL
    if any(r >= Severity.warning.rank for r in ranks):
        return NagiosStatus.WARNING
    return NagiosStatus.OK


def nagios_line(service: str, findings: list[Finding], perf: list[PerfDatum], ok_summary: str) -> tuple[str, int]:
    """The plugin's output: first line status and summary, then one line per finding."""
    status = nagios_status(findings)
    alerting = sorted((f for f in findings if f.severity is not Severity.info), key=lambda f: -f.severity.rank)
    summary = alerting[0].message if alerting else ok_summary
    if len(alerting) > 1:
        summary += f" (+{len(alerting) - 1} more)"
    line = f"{service} {status.name} - {visible(summary)}"
    if perf:
        line += " | " + " ".join(p.render() for p in perf)
    details = [visible(f"{f.severity.value}: {f.code}: {f.message}") for f in alerting[1:]]
    return "\n".join([line, *details]), int(status)


def nagios_unknown(service: str, message: str) -> tuple[str, int]:
    return f"{service} UNKNOWN - {visible(message)}", int(NagiosStatus.UNKNOWN)


def exit_code(findings: list[Finding], fail_on: Severity) -> int:
    return int(ExitCode.FINDINGS if fails(findings, fail_on) else ExitCode.OK)
