"""One way every live check leaves the process: text, JSON or a Nagios line, and its exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

from voxops.errors import VoxopsError
from voxops.severity import Severity
from voxops.views.output import TextJson, emit_json

if TYPE_CHECKING:  # pydantic is imported when a report is emitted, not at start-up
    from voxops.findings import Finding
    from voxops.probes.verdict import PerfDatum

class CheckReport(Protocol):
    findings: list[Finding]

    def perfdata(self) -> list[PerfDatum]: ...

    def summary(self) -> str: ...


R = TypeVar("R", bound=CheckReport)


def run_check(service: str, nagios: bool, check: Callable[[], int]) -> int:
    """In Nagios mode every error becomes UNKNOWN (exit 3), as monitoring systems expect."""
    if not nagios:
        return check()
    try:
        return check()
    except VoxopsError as exc:
        from voxops.probes.verdict import nagios_unknown

        line, code = nagios_unknown(service, str(exc))
        sys.stdout.write(line + "\n")
        return code


def report_command(
    service: str,
    build: Callable[[], R],
    text: Callable[[R], None],
    *,
    fmt: TextJson,
    nagios: bool,
    fail_on: Severity,
) -> int:
    """The body of a check command: build the report, emit it, map errors for Nagios."""

    def check() -> int:
        report = build()
        return emit_check(service, report, fmt=fmt, nagios=nagios, fail_on=fail_on, text=lambda: text(report))

    return run_check(service, nagios, check)


def emit_check(
    service: str,
    report: CheckReport,
    *,
    fmt: TextJson,
    nagios: bool,
    fail_on: Severity,
    text: Callable[[], None],
) -> int:
    from pydantic import BaseModel

    from voxops.probes.verdict import exit_code, nagios_line

    if nagios:
        line, code = nagios_line(service, report.findings, report.perfdata(), report.summary())
        sys.stdout.write(line + "\n")
        return code
    if fmt is TextJson.json:
        assert isinstance(report, BaseModel)
        emit_json(report)
    else:
        text()
    return exit_code(report.findings, fail_on)
