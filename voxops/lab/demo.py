"""`voxops lab demo`: the whole lab end to end, from nothing back to nothing."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from voxops.lab.drill import Load, run_drill
from voxops.lab.report import DrillReport
from voxops.lab.sipp import CallBatch
from voxops.lab.stack import CALLER_PORT, RTP_INBOUND_CALLER, Lab, LabStatus
from voxops.lab.supervisor import Supervisor, sigterm_interrupts


class DemoReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lab: LabStatus
    calls: CallBatch
    drill: DrillReport
    capture: str | None
    passed: bool


def place_lab_calls(lab: Lab, *, count: int, rate: float, duration_s: float, node: int = 0) -> CallBatch:
    """Calls from the first carrier's address through SBC node `node` into the agents."""
    from voxops.lab.sipp import place_calls

    topology = lab.topology()
    source = topology.trunks()[0][1].hosts[0].address
    _, address, port = topology.sbc.nodes[node].sockets()[0]
    with sigterm_interrupts(), Supervisor(lab.dir.sub("pids-drill"), lab.dir.logs) as sup:
        return place_calls(
            sup, lab.dir.root, name="lab-call", source=source, source_port=CALLER_PORT,
            target=f"{address}:{port}", service="agent", count=count, rate=rate,
            duration_s=duration_s, rtp_port=RTP_INBOUND_CALLER,
        )  # fmt: skip


def run_demo(run_dir: Path, spec: Path, *, drill: str = "trunk-down", count: int = 10) -> DemoReport:
    lab = Lab(run_dir)
    with sigterm_interrupts():
        try:
            status = lab.up(spec)
            # within capacity: these calls show the happy path (overload is a drill of its own)
            topology = lab.topology()
            pool = sum(a.max_calls for a in topology.agents.instances)
            count = min(count, pool, topology.sbc.admission.max_concurrent_calls if topology.sbc.admission else pool)
            calls = place_lab_calls(lab, count=count, rate=2, duration_s=1)
            report = run_drill(run_dir, drill, load=Load(rate=2, hold_s=2))
            capture = lab.state().capture
        finally:
            lab.down()
    return DemoReport(
        lab=status, calls=calls, drill=report, capture=capture,
        passed=calls.answered == calls.placed and report.passed,
    )  # fmt: skip
