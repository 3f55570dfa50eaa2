"""Running one drill: bring the lab up if needed, capture, inject, measure, restore, report.

Every process a drill starts (extra callers, silent peers, DNS and TLS servers, captures)
belongs to a drill-scoped `Supervisor` whose pid files live under the run directory, and
the lab's own processes a drill stops are started again before it returns: on success,
on failure, on Ctrl-C and on SIGTERM alike. A lab the drill brought up itself is taken
down again.
"""

from __future__ import annotations

import time
from pathlib import Path

from voxops.errors import InvalidInput
from voxops.lab.capture import start_capture, stop_capture
from voxops.lab.context import DrillContext, Load
from voxops.lab.drills import DRILLS
from voxops.lab.report import DrillReport, render_text, verdict
from voxops.lab.stack import Lab, lab_addresses, load_spec
from voxops.lab.supervisor import Supervisor, signals_deferred, sigterm_interrupts


def run_drill(
    run_dir: Path,
    name: str,
    *,
    spec: Path | None = None,
    up_spec: Path | None = None,
    load: Load | None = None,
    ladder: bool = True,
) -> DrillReport:
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
