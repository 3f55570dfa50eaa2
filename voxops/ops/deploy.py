"""`voxops deploy`: load the spec, plan every host's files and health gate, roll out with Ansible."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from voxops.deploy.runner import DeployReport, Inventory, read_inventory, run_site
from voxops.errors import InvalidInput
from voxops.render.engine import RenderJob, plan, resolve_secrets
from voxops.resources import data_dir
from voxops.spec.capacity import workers_of
from voxops.spec.loader import load_topology
from voxops.spec.models import Topology


def host_plans(topo: Topology, jobs: list[RenderJob]) -> dict[str, dict[str, Any]]:
    """Per inventory host: its render jobs and what its health gate probes."""
    plans: dict[str, dict[str, Any]] = {}
    for job in jobs:
        plans.setdefault(job.host, {"jobs": []})["jobs"].append(job.model_dump(mode="json"))
    for node in topo.sbc.nodes:
        udp = next((a, p) for t, a, p in node.sockets() if t.value == "udp")
        plans[node.name]["gate"] = {"address": udp[0], "port": udp[1]}
        if topo.sbc.media is not None:
            public, private = topo.sbc.media.addresses(node.name, node.address)
            plans[node.name]["relay"] = {"address": topo.sbc.media.control_address(node.address),
                                         "port": topo.sbc.media.ng_port, "public": public, "private": private}
    for agent in topo.agents.instances:
        plans[agent.name]["gate"] = {"url": f"http://{agent.host}:{agent.health_port}/readyz"}
        plans[agent.name]["drain_timeout_s"] = topo.agents.drain_timeout_s
        # every worker process: its config, pid file, log and readiness gate (worker 0 first)
        plans[agent.name]["workers"] = [
            {"config": f"etc/agent{w.suffix}.yaml", "pid": f"run/agent{w.suffix}.pid",
             "log": f"log/agent{w.suffix}.log", "gate": f"http://{w.host}:{w.health_port}/readyz"}
            for w in workers_of(agent)
        ]
    return plans


def _check_hosts(topo: Topology, inv: Inventory) -> None:
    want = {"sbc": [n.name for n in topo.sbc.nodes], "agents": [a.name for a in topo.agents.instances]}
    for group, names in want.items():
        missing = sorted(set(names) - set(inv.groups.get(group, [])))
        if missing:
            raise InvalidInput(f"inventory {inv.path}: group {group} lacks {', '.join(missing)} (hosts are named as in the spec)")
        extra = sorted(set(inv.groups.get(group, [])) - set(names))
        if extra:
            raise InvalidInput(f"inventory {inv.path}: group {group} has {', '.join(extra)}, not in the spec (hosts are named as in the spec)")
    if not inv.groups.get("monitoring"):
        raise InvalidInput(f"inventory {inv.path}: group monitoring needs one host (trunk sheets, alert rules)")


def deploy(
    spec: Path,
    inventory: Path | None = None,
    *,
    check: bool = False,
    diff: bool = False,
    prefix: str | None = None,
    templates: Path | None = None,
    gate_timeout: float = 15.0,
    progress: TextIO | None = None,
) -> DeployReport:
    topo, _ = load_topology(spec)
    inv = read_inventory(inventory or data_dir("inventories") / "local")
    _check_hosts(topo, inv)
    pfx = prefix or inv.prefix
    if not pfx or not str(pfx).startswith("/"):
        raise InvalidInput("no absolute voxops_prefix: set it in the inventory (all.vars) or pass --prefix")
    needs_secrets = any(t.credentials for _, t in topo.trunks())
    base = spec if spec.is_dir() else spec.parent
    jobs = plan(topo, str(pfx), resolve_secrets(topo, base) if needs_secrets else None)
    return run_site(host_plans(topo, jobs), inv, str(pfx), media=topo.sbc.media is not None, check=check,
                    diff=diff, templates=templates, gate_timeout=gate_timeout, progress=progress)
