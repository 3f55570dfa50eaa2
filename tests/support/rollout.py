"""Rolling a spec out with `voxops deploy` in a test: a local inventory, the run with its
progress log, and the daemons it started stopped afterwards."""

from __future__ import annotations

import contextlib
import io
import os
import signal
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from tests.support.specs import write_spec
from voxops.deploy.runner import DeployReport
from voxops.ops.deploy import deploy


def write_inventory(path: Path, prefix: Path, *, run_agents: bool) -> Path:
    """An inventory of this machine: sbc-1, sbc-2, agent-1 and monitoring, all local."""
    inv = {"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                 "voxops_prefix": str(prefix), "voxops_run_agents": run_agents},
        "children": {"sbc": {"hosts": {"sbc-1": {}, "sbc-2": {}}}, "agents": {"hosts": {"agent-1": {}}},
                     "monitoring": {"hosts": {"monitoring": {}}}},
    }}
    path.mkdir(parents=True, exist_ok=True)
    (path / "hosts.yml").write_text(yaml.safe_dump(inv))
    return path


def alive(pid: int) -> bool:
    """Running, and not a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def pid_of(prefix: Path, node: str, name: str = "kamailio") -> int:
    return int((prefix / node / "run" / f"{name}.pid").read_text())


def run_deploy(data: dict[str, Any], tmp_path: Path, inv: Path, **options: Any) -> tuple[DeployReport, str]:
    """Deploy `data` (written as tmp_path/topology.yaml): the report and the progress log."""
    path = write_spec(data, tmp_path / "topology.yaml")
    log = io.StringIO()
    report = deploy(path, inv, progress=log, gate_timeout=5, **options)
    return report, log.getvalue()


def stop_deployed(prefix: Path, daemons: Iterable[tuple[str, str]]) -> None:
    """SIGTERM each (node, daemon) deploy left running under `prefix`."""
    for node, name in daemons:
        pidfile = prefix / node / "run" / f"{name}.pid"
        if pidfile.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pidfile.read_text()), signal.SIGTERM)
