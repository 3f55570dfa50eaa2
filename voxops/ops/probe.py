"""The `voxops probe` session: one verdict for cron, or a loop for a service or a terminal."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from pydantic import BaseModel

from voxops.findings import Finding, Severity
from voxops.ops.checks import emit_check
from voxops.probes.monitor import Monitor, State, TargetStatus, findings_of, targets_of
from voxops.probes.prometheus import write_textfile
from voxops.probes.verdict import PerfDatum, exit_code
from voxops.probes.views import console, print_findings, probe_table
from voxops.spec.loader import load_topology
from voxops.text.safe_text import json_output, visible
from voxops.views.output import TextJson


class ProbeReport(BaseModel):
    """`voxops probe --format json`: every target's state and the findings."""

    spec: str
    targets: list[TargetStatus]
    findings: list[Finding]

    def perfdata(self) -> list[PerfDatum]:
        perf = [PerfDatum(label="targets_down", value=sum(s.state is State.down for s in self.targets),
                          min=0, max=len(self.targets))]
        for s in self.targets:
            if s.last_rtt_ms is not None:
                t = s.target
                # field thresholds for SIP round-trip time: warn 150 ms, critical 300 ms
                perf.append(PerfDatum(label=f"{t.name}_{t.transport}_{t.host}_{t.port}_rtt",
                                      value=round(s.last_rtt_ms, 3), uom="ms", warn=150, crit=300, min=0))
        return perf

    def summary(self) -> str:
        up = sum(s.state is State.up for s in self.targets)
        return f"{up}/{len(self.targets)} targets answer OPTIONS"


class ProbeRun:
    def __init__(self, spec: Path, *, target: str | None, timeout: float, prometheus: Path | None) -> None:
        topology, _ = load_topology(spec)
        self.spec = str(spec)
        self.monitor = Monitor(targets_of(topology, target), timeout=timeout)
        self.prometheus = prometheus

    def report(self) -> ProbeReport:
        statuses = list(self.monitor.statuses)
        return ProbeReport(spec=self.spec, targets=statuses, findings=findings_of(statuses))

    def _write_metrics(self) -> None:
        if self.prometheus is not None:
            write_textfile(self.prometheus, self.monitor.statuses)

    def once(self, *, fmt: TextJson, nagios: bool, fail_on: Severity) -> int:
        self.monitor.settle()
        self._write_metrics()
        report = self.report()

        def text() -> None:
            out = console()
            out.print(probe_table(report.targets))
            print_findings(report.findings, out)

        return emit_check("SIP_OPTIONS", report, fmt=fmt, nagios=nagios, fail_on=fail_on, text=text)

    def forever(self, *, watch: bool, rounds: int | None, fmt: TextJson, fail_on: Severity) -> int:
        """Probe each target at its interval; stop when every target has been probed `rounds` times."""
        if watch:
            self._watch(rounds)
        else:
            self._log(rounds, fmt)
        return exit_code(self.report().findings, fail_on)

    def _log(self, limit: int | None, fmt: TextJson) -> None:
        while limit is None or _probed(self.monitor) < limit:
            changes = self.monitor.tick()
            self._write_metrics()
            for i, before in changes:
                s = self.monitor.statuses[i]
                if fmt is TextJson.json:  # JSON Lines: one change per line, for log shippers
                    sys.stdout.write(json_output(json.dumps({
                        "at": s.changed_at, "target": s.target.model_dump(), "from": before.value,
                        "to": s.state.value, "last_code": s.last_code, "last_error": s.last_error,
                    })) + "\n")
                else:
                    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(s.changed_at or time.time()))
                    detail = f"code {s.last_code}" if s.last_code is not None else (s.last_error or "")
                    line = f"{stamp} {s.target.label} {before.value} -> {s.state.value} ({detail})"
                    sys.stdout.write(visible(line) + "\n")
                sys.stdout.flush()

    def _watch(self, limit: int | None) -> None:
        from rich.live import Live

        def table():  # type: ignore[no-untyped-def]
            return probe_table(self.monitor.statuses, title=f"voxops probe {self.spec}  (Ctrl-C to stop)")

        with Live(table(), console=console(), refresh_per_second=4) as live:
            while limit is None or _probed(self.monitor) < limit:
                self.monitor.tick()
                self._write_metrics()
                live.update(table())


def _probed(monitor: Monitor) -> int:
    return min((s.probes for s in monitor.statuses), default=0)
