"""Text output of findings: one line each, `where: severity code: message [runbook]`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from voxops.text.safe_text import visible

if TYPE_CHECKING:  # the capture views format findings too: they need not load the spec models
    from voxops.findings import Finding
    from voxops.spec.report import ValidationReport


def format_finding(f: Finding, where: str | None = None) -> str:
    """Messages quote what a capture or a peer said: every part is passed through `visible`."""
    place = where or f.where
    head = f"{visible(place)}: " if place else ""
    book = f"  (runbook: {visible(f.runbook)})" if f.runbook else ""
    return f"{head}{f.severity.value} {visible(f.code)}: {visible(f.message)}{book}"


def print_validation(report: ValidationReport) -> None:
    for err in report.errors:
        print(f"error: {err}" if not err.startswith(report.spec) else err, file=sys.stderr)
    for item in report.findings:
        print(format_finding(item.finding, item.where))
    if report.valid:
        counts: dict[str, int] = {}
        for item in report.findings:
            counts[item.finding.severity.value] = counts.get(item.finding.severity.value, 0) + 1
        summary = ", ".join(f"{n} {sev}" for sev, n in sorted(counts.items())) or "no findings"
        if report.capacity is not None:
            cap = report.capacity
            hosts = ", ".join(f"{h.name} {h.calls} ({h.calls_per_worker} x {h.workers} worker(s))" for h in cap.hosts)
            limit = "no admission limit" if cap.admission_limit is None else f"SBC admits {cap.admission_limit}"
            print(f"capacity: {cap.total_calls} concurrent calls: {hosts}; {limit}", file=sys.stderr)
        print(f"{report.spec}: valid ({summary})", file=sys.stderr)
    else:
        print(f"{report.spec}: invalid ({len(report.errors)} error(s))", file=sys.stderr)
