"""`voxops probe --call` output: a table per test call, JSON, Nagios, Prometheus textfile."""

from __future__ import annotations

from pathlib import Path

from voxops.ops.checks import report_command
from voxops.probes.call_check import check_calls
from voxops.probes.call_report import CallReport
from voxops.severity import Severity
from voxops.views.output import TextJson


def _figure(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:g}{unit}"


def print_calls(report: CallReport) -> None:
    from rich.table import Table

    from voxops.probes.views import console, print_findings
    from voxops.text.safe_text import visible

    table = Table(title="test calls")
    for column in ("node", "status", "PDD", "RTP sent/back", "loss", "jitter", "audio RTT", "MOS", "relay in (caller/far end)"):
        table.add_column(column)
    for c in report.calls:
        relay = c.relay
        seen = "-" if relay is None else (relay.error and f"error: {relay.error}") or f"{relay.from_caller}/{relay.from_callee}"
        table.add_row(visible(c.node), visible(f"{c.status or 'none'} {c.reason or ''}".strip()), _figure(c.pdd_ms, " ms"),
                      f"{c.rtp_sent}/{c.rtp_received}", _figure(c.loss_percent, " %"), _figure(c.jitter_ms, " ms"),
                      _figure(c.round_trip_ms, " ms"), _figure(c.mos), visible(seen))
    out = console()
    out.print(table)
    print_findings(report.findings, out)


def call_command(spec: Path, *, target: str | None, source: str | None, service: str, seconds: float,
                 timeout: float, prometheus: Path | None, nagios: bool, fail_on: Severity, fmt: TextJson) -> int:
    def build() -> CallReport:
        report = check_calls(spec, only=target, source=source, service=service, seconds=seconds, timeout=timeout)
        if prometheus is not None:
            from voxops.probes.call_findings import write_call_textfile

            write_call_textfile(prometheus, report.calls)
        return report

    return report_command("SIP_TEST_CALL", build, print_calls, fmt=fmt, nagios=nagios, fail_on=fail_on)
