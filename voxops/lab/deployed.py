"""The SBC nodes, their media relays and the agents' configs, as `voxops deploy` puts them.

The lab runs the deploy code itself, in this process (`voxops.ops.deploy.deploy`), on an
inventory of its own: the local inventory's hosts with the prefix under the run directory
and `voxops_run_agents: false`. The playbook starts every SBC node and its relay under a
pid file and gates them; a node or relay a drill stopped is started again by deploying
again (the playbook restarts whatever is down and leaves the rest alone). The agents run
under the lab's supervisor (so a drill can crash one), from the agent config the deploy
rendered.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from voxops.errors import CommandFailed
from voxops.lab.state import ProcessInfo, RunDir
from voxops.lab.supervisor import pid_alive, terminate
from voxops.resources import data_dir
from voxops.spec.models import Topology

RELAY = "relay"


def pid_of(pidfile: str | Path) -> int | None:
    try:
        return int(Path(pidfile).read_text().strip())
    except (OSError, ValueError):
        return None


def lab_inventory(run: RunDir) -> Path:
    """The local inventory's hosts, deploying under RUN/deploy, agents left to the lab."""
    local = yaml.safe_load((data_dir("inventories") / "local" / "hosts.yml").read_text(encoding="utf-8"))
    local["all"]["vars"].update({"voxops_prefix": str(run.sub("deploy")), "voxops_run_agents": False})
    path = run.sub("inventory") / "hosts.yml"
    path.write_text(yaml.safe_dump(local, sort_keys=False), encoding="utf-8")
    return path


def deploy_lab(run: RunDir, spec: Path) -> None:
    """Deploy spec into the run directory; a failed host fails the lab, naming the log."""
    from voxops.ops.deploy import deploy

    log = run.logs / "deploy.log"
    with log.open("a", encoding="utf-8") as progress:
        report = deploy(spec, lab_inventory(run), progress=progress)
    if report.rc != 0 or report.failed:
        failed = ", ".join(report.failed) or f"rc {report.rc}"
        raise CommandFailed(f"deploy failed on {failed} (log: {log})")


def deployed_processes(run: RunDir, topology: Topology) -> list[ProcessInfo]:
    """What the deploy started (SBC nodes, relays: pid files) and the agents the lab starts."""
    prefix = run.sub("deploy")
    infos = []
    media = topology.sbc.media
    for node in topology.sbc.nodes:
        base = prefix / node.name / "run"
        _, address, port = node.sockets()[0]
        infos.append(ProcessInfo(name=node.name, role="sbc", address=address, port=port, argv=[],
                                 ctl=str(base / "kamailio_ctl"), pidfile=str(base / "kamailio.pid")))
        if media is not None:
            infos.append(ProcessInfo(name=relay_name(node.name), role=RELAY, address=media.control_address(node.address),
                                     port=media.ng_port, argv=[], pidfile=str(base / "rtpengine.pid")))
    for agent in topology.agents.instances:
        config = prefix / agent.name / "etc" / "agent.yaml"
        argv = [sys.executable, "-m", "voxops", "agent", "run", "--config", str(config)]
        infos.append(ProcessInfo(name=agent.name, role="agent", address=agent.host, port=agent.sip_port, argv=argv))
    return infos


def relay_name(node: str) -> str:
    return f"{node}-relay"


def stop_daemon(info: ProcessInfo) -> bool:
    assert info.pidfile is not None
    pid = pid_of(info.pidfile)
    if pid is None or not pid_alive(pid):
        return False
    terminate(pid, None)
    Path(info.pidfile).unlink(missing_ok=True)
    return True


def daemon_pid(info: ProcessInfo) -> int | None:
    pid = pid_of(info.pidfile) if info.pidfile else None
    return pid if pid is not None and pid_alive(pid) else None


def stop_deployed(prefix: Path) -> list[str]:
    """Stop every daemon with a pid file under prefix/<host>/run/."""
    stopped = []
    for pidfile in sorted(prefix.glob("*/run/*.pid")):
        pid = pid_of(pidfile)
        if pid is not None and pid_alive(pid):
            terminate(pid, None)
            stopped.append(pidfile.parent.parent.name)
        pidfile.unlink(missing_ok=True)
    return stopped
