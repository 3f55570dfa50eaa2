"""The SBC nodes and agents as the local inventory deploys them from the rendered configs.

`voxops deploy SPEC -i voxops/data/inventories/local --prefix RUN/deploy` renders every file under the
prefix and starts each SBC node the way its playbook does (`kamailio -f etc/kamailio.cfg
-P run/kamailio.pid -w run`); the lab keeps that exact command to start a node again
after a drill stopped it. Agents run `voxops agent run --config etc/agent.yaml` under the
lab's supervisor (an agent the deploy started is stopped and taken over).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from voxops.errors import CommandFailed
from voxops.lab.state import ProcessInfo
from voxops.lab.supervisor import pid_alive, terminate
from voxops.proc import run, which
from voxops.resources import data_dir
from voxops.spec.models import Topology

if TYPE_CHECKING:
    from voxops.lab.stack import Lab


def pid_of(pidfile: str | Path) -> int | None:
    try:
        return int(Path(pidfile).read_text().strip())
    except (OSError, ValueError):
        return None


def deploy_stack(lab: Lab, topology: Topology, spec: Path) -> list[ProcessInfo]:
    prefix = lab.dir.sub("deploy")
    voxops = [sys.executable, "-m", "voxops"]
    argv = [*voxops, "deploy", str(spec), "-i", str(data_dir("inventories") / "local"), "--prefix", str(prefix)]
    cp = run(argv, timeout=600, check=False)
    (lab.dir.logs / "deploy.log").write_bytes(cp.stdout + cp.stderr)
    if cp.returncode != 0:
        tail = (cp.stdout + cp.stderr).decode(errors="replace").strip().splitlines()[-3:]
        raise CommandFailed(f"`voxops deploy` exited {cp.returncode}: {' | '.join(tail)} (log: {lab.dir.logs / 'deploy.log'})")
    infos = []
    for node in topology.sbc.nodes:
        base = prefix / node.name
        for sub in ("run", "log"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        _, address, port = node.sockets()[0]
        pidfile = base / "run" / "kamailio.pid"
        start = [which("kamailio"), "-f", str(base / "etc" / "kamailio.cfg"), "-P", str(pidfile), "-w", str(base / "run")]
        infos.append(
            ProcessInfo(
                name=node.name, role="sbc", address=address, port=port, argv=start,
                ctl=str(base / "run" / "kamailio_ctl"), pidfile=str(pidfile),
            )  # fmt: skip
        )
    for agent in topology.agents.instances:
        base = prefix / agent.name
        (base / "run").mkdir(parents=True, exist_ok=True)
        pidfile = base / "run" / "agent.pid"
        pid = pid_of(pidfile)
        if pid is not None and pid_alive(pid):
            # the lab supervises the agents itself (its own pid files, process groups) so a
            # drill can crash one and start it again the same way: take over from the deploy
            terminate(pid, None)
        pidfile.unlink(missing_ok=True)
        start = [*voxops, "agent", "run", "--config", str(base / "etc" / "agent.yaml")]
        infos.append(
            ProcessInfo(name=agent.name, role="agent", address=agent.host, port=agent.sip_port, argv=start)
        )
    return infos


def start_daemon(info: ProcessInfo) -> None:
    """Start a self-daemonizing process (unless its pid file says it runs)."""
    assert info.pidfile is not None
    pid = pid_of(info.pidfile)
    if pid is not None and pid_alive(pid):
        return
    Path(info.pidfile).unlink(missing_ok=True)
    run(info.argv, timeout=30)


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
