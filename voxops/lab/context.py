"""What a drill works with: the lab, its supervisor, the specs, and what it found.

A drill is a function of a `DrillContext`: it places calls (SIPp batches for signalling
load, or single test calls with their own RTP ports for media), injects a fault, and
records checks, figures and findings here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voxops.findings import Finding
from voxops.lab.report import Check
from voxops.lab.sipp import CallRun, start_calls
from voxops.lab.stack import CALLER_PORT, RTP_INBOUND_CALLER, RTP_OUTBOUND_CALLER, Lab
from voxops.lab.supervisor import Supervisor
from voxops.spec.models import Topology

if TYPE_CHECKING:
    from voxops.probes.call_report import CallResult


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

    def test_call(self, *, inbound: bool, node: int = 0, seconds: float = 2.0) -> CallResult:
        """One call with audio through SBC node `node`, from its own SIP and RTP ports:
        inbound from the first carrier's address to the agents, or outbound from the first
        agent's address to the carriers."""
        from voxops.probes.call_check import place_call

        if inbound:
            source, service = self.topology.trunks()[0][1].hosts[0].address, "agent"
        else:
            source, service = self.topology.agents.instances[0].host, "15550100"
        return place_call(self.topology, self.topology.sbc.nodes[node], source=source, service=service,
                          seconds=seconds, timeout=15.0)


Drill = Callable[[DrillContext], None]
