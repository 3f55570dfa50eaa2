"""Text views of the live checks (rich tables on stdout).

Peers control much of what is shown (reply reasons, certificate names, DNS answers):
every value goes through `rich_text` (visible escapes, markup escaped) and only the
styles written here are markup.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from voxops.findings import Finding, Severity
from voxops.probes.monitor import State, TargetStatus
from voxops.text.safe_text import rich_text as escape

if TYPE_CHECKING:
    from voxops.probes.dns_check import DnsReport
    from voxops.probes.exposure import AuditReport
    from voxops.probes.tls_check import CertsReport

_STYLE = {State.up: "green", State.down: "bold red", State.unknown: "yellow"}
_SEV = {Severity.info: "dim", Severity.warning: "yellow", Severity.error: "red", Severity.critical: "bold red"}


def console() -> Console:
    # piped output (cron mail, CI logs) gets wide tables instead of 80-column wrapping
    # no emoji codes either: a peer's ":thumbs_up:" is printed as sent
    return Console(highlight=False, emoji=False, width=None if sys.stdout.isatty() else 200)


def probe_table(statuses: list[TargetStatus], title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("target", "kind", "address", "state", "code", "rtt ms", "misses", "last error"):
        table.add_column(col, justify="right" if col in ("code", "rtt ms", "misses") else "left")
    for s in statuses:
        t = s.target
        table.add_row(
            escape(t.name),
            escape(t.kind),
            escape(f"{t.transport}:{t.host}:{t.port}"),
            f"[{_STYLE[s.state]}]{s.state.value}[/]",
            "-" if s.last_code is None else str(s.last_code),
            "-" if s.last_rtt_ms is None else f"{s.last_rtt_ms:.1f}",
            str(s.consecutive_failures),
            escape(s.last_error or ""),
        )
    return table


def print_findings(findings: list[Finding], out: Console | None = None) -> None:
    out = out or console()
    if not findings:
        out.print("no findings")
        return
    for f in sorted(findings, key=lambda f: -f.severity.rank):
        where = escape(f" [{f.where}]") if f.where else ""
        runbook = f"  (runbook: {escape(f.runbook)})" if f.runbook else ""
        line = f"[{_SEV[f.severity]}]{f.severity.value:8}[/] {escape(f.code)}{where}: {escape(f.message)}{runbook}"
        out.print(line, soft_wrap=True)  # one finding per line, for grep


def print_dns(report: DnsReport) -> None:
    out = console()
    table = Table(title=f"DNS answers ({report.elapsed_ms:.0f} ms)", title_justify="left")
    for col in ("record", "vantage", "rcode", "answers", "ttl", "ms"):
        table.add_column(col, justify="right" if col in ("ttl", "ms") else "left")
    for r in report.records:
        for a in r.vantages:
            answers = escape(", ".join(a.answers) or "-")
            for target, addrs in a.srv_targets.items():
                answers += "\n  " + escape(f"{target} -> {', '.join(addrs) or 'NO ADDRESS'}")
            table.add_row(escape(f"{r.name} {r.type.value}"), escape(a.vantage),
                          escape(a.rcode) if a.rcode else f"[red]{escape(a.error or '')}[/]",
                          answers, "-" if a.ttl is None else str(a.ttl), f"{a.elapsed_ms:.0f}")
    out.print(table)
    print_findings(report.findings, out)


def print_certs(report: CertsReport) -> None:
    out = console()
    table = Table(title="TLS endpoints", title_justify="left")
    for col in ("endpoint", "address", "protocol", "days left", "subject / SAN", "trusted", "note"):
        table.add_column(col, justify="right" if col == "days left" else "left")
    for e in report.endpoints:
        leaf = e.chain[0] if e.chain else None
        note = e.error or ""
        if e.fallback is not None and e.fallback.code is not None:
            note += f"; plain SIP {e.fallback_target} answers {e.fallback.code}"
        table.add_row(
            escape(e.name), escape(f"{e.host}:{e.port}"), escape(e.protocol or "-"),
            f"{leaf.days_left:.1f}" if leaf else "-",
            escape(leaf.subject) + "\n" + escape(", ".join(leaf.san)) if leaf else "-",
            {True: "yes", False: "[red]no[/]", None: "-"}[e.trusted], escape(note),
        )
    out.print(table)
    print_findings(report.findings, out)


def print_audit(report: AuditReport) -> None:
    out = console()
    where = f"target {report.target} (from {report.bind}){'' if report.in_spec else ' - not in the spec'}"
    out.print(escape(where))
    ua = f" as {report.scanner_user_agent!r}" if report.scanner_user_agent else ""
    out.print(escape(f"svmap: {'ANSWERS' + ua if report.answers_scanner else 'no answer'} to a scanner's OPTIONS"))
    found = ", ".join(f"{k} ({v})" for k, v in sorted(report.extensions.items())) or "none told apart"
    status = "" if report.enumeration_answered else " (no answer)"
    out.print(escape(f"svwar: {report.enumeration_method} x {report.extensions_tried} extensions{status}: {found}"))
    print_findings(report.findings, out)
