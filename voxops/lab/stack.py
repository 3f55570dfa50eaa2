"""`voxops lab up / down / status`: the whole spec running on this machine.

The SBC nodes and agents come from `voxops deploy SPEC -i voxops/data/inventories/local` (rendered
configs, processes with pid files under a prefix directory); the carriers are SIPp
simulators, one per trunk host; a dumpcap records everything on the lab's addresses.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from voxops.errors import EnvironmentProblem, InvalidInput
from voxops.lab.capture import start_capture
from voxops.lab.deployed import (
    daemon_pid,
    deploy_lab,
    deployed_processes,
    stop_daemon,
    stop_deployed,
)
from voxops.lab.faults import dispatcher_flags, wait_for
from voxops.lab.scenarios import CarrierMode
from voxops.lab.sipp import carrier_argv, write_carrier_scenario
from voxops.lab.state import LabState, ProcessInfo, RunDir
from voxops.lab.supervisor import Supervisor, running_pidfiles, stop_pidfiles
from voxops.spec.models import Topology

# RTP port ranges per role, so SIPp instances sharing an address never collide.
RTP_CARRIER = 20000
RTP_INBOUND_CALLER = 21000
RTP_OUTBOUND_CALLER = 23000
CALLER_PORT = 5099  # the callers' SIP port (on a carrier or agent address)


class ProcessStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    role: str
    address: str | None
    port: int | None
    mode: str | None
    pid: int | None
    running: bool


class LabStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")

    up: bool
    spec: str | None
    run_dir: str
    sbc: str | None
    capture: str | None
    processes: list[ProcessStatus]


def progress(message: str) -> None:
    """Progress goes to stderr: stdout carries the result."""
    import sys

    print(f"lab: {message}", file=sys.stderr, flush=True)


def load_spec(spec: Path) -> Topology:
    from voxops.spec.loader import load_topology

    topology, _ = load_topology(spec)
    return topology


def lab_addresses(topology: Topology) -> list[str]:
    addrs = set(topology.addresses())
    addrs.update(v.address for v in topology.dns.vantages)
    return sorted(addrs)


def check_loopback(topology: Topology) -> None:
    import ipaddress

    outside = [a for a in lab_addresses(topology) if not ipaddress.ip_address(a).is_loopback]
    if outside:
        raise InvalidInput(
            f"the lab runs on loopback only; the spec has {', '.join(outside)}",
            hint="use voxops/data/inventories/local or a spec whose addresses are all in 127.0.0.0/8",
        )


def udp_port_free(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((address, port))
        except OSError:
            return False
    return True


def sip_answers(address: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when address:port answers a SIP OPTIONS (any response)."""
    from voxops.probes.sip_options import send_options

    return send_options(address, port, timeout=timeout_s, user_agent="voxops-lab").code is not None


class Lab:
    """The running lab behind one run directory."""

    def __init__(self, run_dir: Path) -> None:
        self.dir = RunDir(run_dir)
        self.sup = Supervisor(self.dir.pids, self.dir.logs)

    # --- state -------------------------------------------------------------------------

    def state(self) -> LabState:
        state = self.dir.load()
        if state is None:
            raise InvalidInput(
                f"no lab is up in {self.dir.root}", hint="start one with `voxops lab up`"
            )
        return state

    def topology(self) -> Topology:
        return load_spec(Path(self.state().spec))

    def is_up(self) -> bool:
        return self.dir.load() is not None

    # --- processes ---------------------------------------------------------------------

    def start_process(self, info: ProcessInfo, *, ready_timeout_s: float = 20.0) -> None:
        ready = None
        if info.role in ("carrier", "sbc", "agent") and info.address and info.port:
            address, port = info.address, info.port
            ready = lambda: sip_answers(address, port)  # noqa: E731
        if info.pidfile is None:
            if info.address and info.port:
                # a process stopped a moment ago (or a drill's silent peer) may still hold it
                address, port = info.address, info.port
                wait_for(lambda: udp_port_free(address, port), timeout_s=5.0, step_s=0.05)
            self.sup.start(info.name, info.argv, ready=ready, ready_timeout_s=ready_timeout_s)
            return
        # an SBC node or relay: the deploy starts whatever of the stack is down
        deploy_lab(self.dir, Path(self.state().spec))
        if daemon_pid(info) is None:
            raise EnvironmentProblem(f"{info.name} did not start again (see {self.dir.logs / 'deploy.log'})")
        if ready is not None and wait_for(ready, timeout_s=ready_timeout_s) is None:
            raise EnvironmentProblem(f"{info.name} does not answer SIP OPTIONS at {info.address}:{info.port}")

    def stop_process(self, name: str, *, crash: bool = False) -> None:
        """Stop a lab process and wait until it is gone; crash=True kills it at once (SIGKILL)."""
        from voxops.lab.supervisor import stop_pidfile

        grace = 0.0 if crash else 5.0
        state = self.dir.load()
        info = state.processes.get(name) if state else None
        if info is not None and info.pidfile is not None:
            stop_daemon(info)
            return
        self.sup.stop(name, grace_s=grace)
        # started by an earlier command: only its pid file knows it
        stop_pidfile(self.dir.pids / f"{name}.pid", grace_s=grace)

    def set_carrier_mode(self, name: str, mode: CarrierMode, *, delay_ms: int = 3000) -> None:
        """Restart one carrier simulator with another scenario (same address and port)."""
        state = self.state()
        info = state.processes[name]
        self.stop_process(name)
        scen = write_carrier_scenario(self.dir.root, mode, delay_ms=delay_ms)
        assert info.address and info.port
        argv = carrier_argv(scen, info.address, info.port, RTP_CARRIER, self.carrier_log(name))
        info = info.model_copy(update={"argv": argv, "mode": mode.value})
        self.start_process(info)
        state.processes[name] = info
        self.dir.save(state)

    def restart(self, name: str) -> None:
        """Start a lab process again after a drill; a half-stopped one is stopped first."""
        info = self.state().processes[name]
        if self._pid(info, running_pidfiles(self.dir.pids)) is not None:
            return
        self.stop_process(name)  # an interrupted stop may have left it dying
        self.start_process(info)

    def wait_dispatchers_active(self, topology: Topology) -> None:
        """Until every SBC node probes every carrier and agent active (the agents start after
        the SBC, so a node may have counted them as missed pings first)."""
        ping = topology.trunks()[0][1].options_ping
        ctls = [p.ctl for p in self.state().processes.values() if p.role == "sbc" and p.ctl]
        pending: dict[str, list[str]] = {}

        def all_active() -> bool:
            for ctl in ctls:
                flags = dispatcher_flags(ctl)
                pending[ctl] = [d for d, f in flags.items() if not f.startswith("A")] if flags else ["(no answer)"]
            return not any(pending.values())

        if wait_for(all_active, timeout_s=ping.interval_s * (ping.success_threshold + 2) + 10, step_s=0.25) is None:
            late = sorted({d for ds in pending.values() for d in ds})
            raise EnvironmentProblem(f"the SBC does not see {', '.join(late)} as active", hint="see the logs in " + str(self.dir.logs))

    def carrier_log(self, name: str) -> Path:
        """Where a SIPp simulator logs the Call-ID of every INVITE it receives."""
        return self.dir.logs / f"{name}.calls"

    @staticmethod
    def _pid(info: ProcessInfo, running: dict[str, int]) -> int | None:
        if info.pidfile is not None:
            return daemon_pid(info)
        return running.get(info.name)

    # --- up / down / status ------------------------------------------------------------

    def up(self, spec: Path) -> LabStatus:
        if self.is_up():
            raise InvalidInput(
                f"a lab is already up in {self.dir.root}", hint="stop it with `voxops lab down`"
            )
        topology = load_spec(spec)
        check_loopback(topology)
        state = LabState(
            spec=str(spec.resolve()),
            run_dir=str(self.dir.root),
            sbc="deploy",
            started_at=time.time(),
        )
        try:
            capture = self.dir.sub("captures") / "lab.pcapng"
            start_capture(self.sup, "capture", capture, lab_addresses(topology))
            state.capture = str(capture)
            state.processes["capture"] = ProcessInfo(
                name="capture", role="capture", argv=self.sup.procs["capture"].argv
            )
            self.dir.save(state)
            for info in self._carriers(topology):
                self.start_process(info)
                state.processes[info.name] = info
                self.dir.save(state)
            progress(f"deploying {spec} into {self.dir.root / 'deploy'} (the deploy playbook, local inventory)")
            for info in self._deployed(topology, spec):
                if info.argv:
                    self.start_process(info)
                state.processes[info.name] = info
                self.dir.save(state)
            progress("waiting until every SBC node probes the carriers and agents active")
            self.wait_dispatchers_active(topology)
        except BaseException:
            self.down()
            raise
        return self.status()

    def down(self) -> list[str]:
        """Stop everything the lab started; captures and reports stay."""
        stopped = stop_pidfiles(self.dir.root / "pids-drill") + stop_pidfiles(self.dir.pids)
        state = self.dir.load()
        if state is not None:
            stopped += [i.name for i in state.processes.values() if i.pidfile and stop_daemon(i)]
        # a deploy that failed half-way may have started daemons the state never recorded
        stopped += stop_deployed(self.dir.root / "deploy")
        self.dir.clear()
        return stopped

    def status(self) -> LabStatus:
        state = self.dir.load()
        running = running_pidfiles(self.dir.pids)
        procs = []
        if state is not None:
            for info in state.processes.values():
                pid = self._pid(info, running)
                procs.append(
                    ProcessStatus(
                        name=info.name, role=info.role, address=info.address, port=info.port,
                        mode=info.mode, pid=pid, running=pid is not None,
                    )  # fmt: skip
                )
        return LabStatus(
            up=state is not None,
            spec=state.spec if state else None,
            run_dir=str(self.dir.root),
            sbc=state.sbc if state else None,
            capture=state.capture if state else None,
            processes=procs,
        )

    # --- what runs ---------------------------------------------------------------------

    def _carriers(self, topology: Topology) -> list[ProcessInfo]:
        scen = write_carrier_scenario(self.dir.root, CarrierMode.answer)
        infos = []
        for _carrier, trunk in topology.trunks():
            for i, host in enumerate(trunk.hosts):
                if not udp_port_free(host.address, host.port):
                    raise EnvironmentProblem(f"{host.address}:{host.port} is taken (another lab up?)")
                name = trunk.name if len(trunk.hosts) == 1 else f"{trunk.name}-{i + 1}"
                infos.append(
                    ProcessInfo(
                        name=name, role="carrier", address=host.address, port=host.port,
                        argv=carrier_argv(scen, host.address, host.port, RTP_CARRIER, self.carrier_log(name)),
                        mode="answer",
                    )  # fmt: skip
                )
        return infos

    def _deployed(self, topology: Topology, spec: Path) -> list[ProcessInfo]:
        deploy_lab(self.dir, spec)
        return deployed_processes(self.dir, topology)
