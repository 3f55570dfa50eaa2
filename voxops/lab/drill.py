"""Running one drill: bring the lab up if needed, capture, inject, measure, restore, report.

Every process a drill starts (extra callers, silent peers, DNS and TLS servers, captures)
belongs to a drill-scoped `Supervisor` whose pid files live under the run directory, and
the lab's own processes a drill stops are started again before it returns: on success,
on failure, on Ctrl-C and on SIGTERM alike. A lab the drill brought up itself is taken
down again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxops.errors import InvalidInput
from voxops.findings import Finding
from voxops.lab.capture import start_capture, stop_capture
from voxops.lab.report import Check, DrillReport, render_text, verdict
from voxops.lab.sipp import CallRun, start_calls
from voxops.lab.stack import (
    CALLER_PORT,
    RTP_INBOUND_CALLER,
    RTP_OUTBOUND_CALLER,
    Lab,
    lab_addresses,
    load_spec,
)
from voxops.lab.supervisor import Supervisor, signals_deferred, sigterm_interrupts
from voxops.spec.models import Topology


@dataclass
class Load:
    """The calls that run while a fault is injected."""

    rate: float = 4.0
    hold_s: float = 2.0


@dataclass
class DrillContext:
    lab: Lab
    sup: Supervisor
    topology: Topology  # what runs
    promise: Topology  # whose promises are checked (the running spec unless --spec)
    promise_spec: Path
    out: Path
    capture: Path
    load: Load
    checks: list[Check] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    restore: list[Callable[[], None]] = field(default_factory=list)
    after_capture: list[Callable[[], None]] = field(default_factory=list)
    fault: str = ""
    runbook: str | None = None
    call_id: str | None = None
    _calls: int = 0

    def check(
        self,
        name: str,
        passed: bool | None,
        measured: str,
        promise: str,
        *,
        value: float | None = None,
        limit: float | None = None,
        note: str | None = None,
    ) -> None:
        self.checks.append(
            Check(name=name, passed=passed, measured=measured, promise=promise, value=value, limit=limit, note=note)
        )

    def node(self, index: int = 0) -> tuple[str, int]:
        _, address, port = self.topology.sbc.nodes[index].sockets()[0]
        return address, port

    def calls(self, *, inbound: bool, count: int, rate: float | None = None, hold_s: float | None = None, node: int = 0) -> CallRun:
        """Calls through SBC node `node`: inbound (from a carrier address, to the agents)
        or outbound (from an agent address, out to the carriers)."""
        self._calls += 1
        if inbound:
            source = self.topology.trunks()[0][1].hosts[0].address
            rtp, service = RTP_INBOUND_CALLER, "agent"
        else:
            source = self.topology.agents.instances[0].host
            rtp, service = RTP_OUTBOUND_CALLER, "15550100"
        address, port = self.node(node)
        return start_calls(
            self.sup, self.lab.dir.root,
            name=f"calls-{self._calls}", source=source, source_port=CALLER_PORT + self._calls,
            target=f"{address}:{port}", service=service, count=count,
            rate=rate or self.load.rate, duration_s=self.load.hold_s if hold_s is None else hold_s,
            rtp_port=rtp + 10 * self._calls,
        )  # fmt: skip


Drill = Callable[[DrillContext], None]


def run_drill(
    run_dir: Path,
    name: str,
    *,
    spec: Path | None = None,
    up_spec: Path | None = None,
    load: Load | None = None,
    ladder: bool = True,
) -> DrillReport:
    from voxops.lab.drills import DRILLS

    if name not in DRILLS:
        raise InvalidInput(f"unknown drill {name!r}: choose one of {', '.join(DRILLS)}")
    lab = Lab(run_dir)
    started = time.time()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(started))
    out = lab.dir.sub("reports") / f"{name}-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    ephemeral = not lab.is_up()
    with sigterm_interrupts():
        try:
            if ephemeral:
                lab.up(up_spec or spec or _default_spec())
            state = lab.state()
            topology = load_spec(Path(state.spec))
            promise_spec = spec or Path(state.spec)
            with Supervisor(lab.dir.sub("pids-drill"), lab.dir.logs) as sup:
                ctx = DrillContext(
                    lab=lab, sup=sup, topology=topology, promise=load_spec(promise_spec),
                    promise_spec=promise_spec, out=out,
                    capture=lab.dir.sub("captures") / f"drill-{name}-{stamp}.pcapng",
                    load=load or Load(),
                )  # fmt: skip
                start_capture(sup, "drill-capture", ctx.capture, lab_addresses(topology))
                try:
                    DRILLS[name](ctx)
                finally:
                    # a second Ctrl-C must not leave the lab half restored
                    with signals_deferred():
                        for undo in reversed(ctx.restore):
                            undo()
                        stop_capture(sup, "drill-capture")
                _consult(ctx)
        finally:
            if ephemeral:
                lab.down()
    report = DrillReport(
        drill=name, passed=verdict(ctx.checks), spec=str(promise_spec), fault=ctx.fault,
        started=started, duration_s=time.time() - started, checks=ctx.checks, figures=ctx.figures,
        findings=ctx.findings, runbook=ctx.runbook, call_id=ctx.call_id, capture=str(ctx.capture),
        report=str(out / "report.json"),
    )  # fmt: skip
    if ladder and ctx.call_id and ctx.capture.exists():
        from voxops.lab.consult import ladder_png

        report.ladder = ladder_png(ctx.capture, ctx.call_id, out / "ladder.png", Path(state.spec))
    (out / "report.json").write_text(report.model_dump_json(indent=2) + "\n")
    (out / "report.txt").write_text(render_text(report))
    return report


def _consult(ctx: DrillContext) -> None:
    """Hooks that need the finished capture (diagnose) run here, after it is closed."""
    for hook in ctx.after_capture:
        hook()


def _default_spec() -> Path:
    from voxops.resources import data_dir

    return data_dir("inventories") / "local"
