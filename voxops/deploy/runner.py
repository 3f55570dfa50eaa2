"""`voxops deploy`: the rendered plan handed to ansible-runner, with live progress from its events."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import yaml
from pydantic import BaseModel

from voxops.errors import CommandFailed, InvalidInput
from voxops.proc import which
from voxops.render.engine import RenderJob, plan, resolve_secrets
from voxops.resources import data_dir
from voxops.spec.capacity import workers_of
from voxops.spec.loader import load_topology
from voxops.spec.models import Topology


class DeployReport(BaseModel):
    status: str
    rc: int
    check: bool
    changed: dict[str, int]
    failed: list[str]
    diffs: list[str]

    @property
    def total_changed(self) -> int:
        return sum(self.changed.values())


class Inventory(BaseModel):
    path: str
    prefix: str | None
    groups: dict[str, list[str]]


def read_inventory(path: Path) -> Inventory:
    """The hosts.yml of an inventory directory (or the file itself): groups and voxops_prefix."""
    file = path / "hosts.yml" if path.is_dir() else path
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"cannot read inventory {file}: not UTF-8 text (byte {exc.start})") from None
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(f"cannot read inventory {file}: {' '.join(str(exc).split())}") from None
    root = data.get("all", {}) if isinstance(data, dict) else {}
    children = root.get("children", {}) if isinstance(root, dict) else {}
    if not isinstance(children, dict) or not all(isinstance(g, dict | None) for g in children.values()):
        raise InvalidInput(f"inventory {file}: all.children must map group names to groups")
    groups = {
        str(name): sorted(str(h) for h in ((g or {}).get("hosts") or {}))
        for name, g in children.items()
    }
    vars_ = root.get("vars") if isinstance(root, dict) else None
    prefix = vars_.get("voxops_prefix") if isinstance(vars_, dict) else None
    return Inventory(path=str(file.resolve()), prefix=prefix, groups=groups)


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


def _progress(out: TextIO, diffs: list[str]) -> Callable[[dict[str, Any]], bool]:
    def handle(event: dict[str, Any]) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data", {}) or {}
        if kind == "playbook_on_play_start":
            print(f"== {data.get('play', '')}", file=out, flush=True)
        elif kind in ("runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_on_unreachable"):
            res = data.get("res", {}) or {}
            state = {"runner_on_ok": "changed" if res.get("changed") else "ok", "runner_on_failed": "FAILED",
                     "runner_on_skipped": "skipped", "runner_on_unreachable": "UNREACHABLE"}[kind]
            if kind == "runner_on_failed" and data.get("ignore_errors"):
                state = "failed (ignored)"
            line = f"   {data.get('host', '?')}: {data.get('task', '')}: {state}"
            if kind in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
                detail = res.get("msg") or res.get("stderr") or ""
                line += f": {str(detail).strip()[:300]}"
            print(line, file=out, flush=True)
        if kind in ("runner_on_ok", "runner_item_on_ok"):
            for d in (data.get("res", {}) or {}).get("diff", []) or []:
                if isinstance(d, dict) and "before" in d and d.get("before") != d.get("after"):
                    diffs.append(_unified(d))
        return True

    return handle


def _unified(d: dict[str, Any]) -> str:
    import difflib

    before = str(d.get("before", "")).splitlines(keepends=True)
    after = str(d.get("after", "")).splitlines(keepends=True)
    return "".join(difflib.unified_diff(before, after, str(d.get("before_header", "before")),
                                        str(d.get("after_header", "after"))))


def ansible_render(jobs: list[RenderJob], out: Path, *, templates: Path | None = None) -> int:
    """Render the plan through Ansible's template module (render.yml); the playbook's rc."""
    import ansible_runner

    payload = [j.model_dump(mode="json") for j in jobs]
    for j in payload:
        (out / j["dest"]).parent.mkdir(parents=True, exist_ok=True)
    private = Path(tempfile.mkdtemp(prefix="voxops-render-"))
    try:
        jobs_file = private / "plan.json"
        jobs_file.write_text(json.dumps({"jobs": payload}))
        os.chmod(jobs_file, 0o600)
        r = ansible_runner.run(
            private_data_dir=str(private), project_dir=str(data_dir("playbooks")), playbook="render.yml", quiet=True,
            extravars={"voxops_jobs_file": str(jobs_file), "voxops_out": str(out.resolve()),
                       "voxops_templates": str((templates or data_dir("templates")).resolve())},
            envvars=_ansible_env(),
        )
        return int(r.rc)
    finally:
        shutil.rmtree(private, ignore_errors=True)


def _ansible_env() -> dict[str, str]:
    # ansible-runner finds ansible-playbook on PATH: put this environment's bin/ first
    bindir = str(Path(sys.executable).parent)
    return {"PATH": f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}", "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0", "ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_PIPELINING": "1"}


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
    import ansible_runner

    topo, _ = load_topology(spec)
    inv = read_inventory(inventory or data_dir("inventories") / "local")
    _check_hosts(topo, inv)
    pfx = prefix or inv.prefix
    if not pfx or not str(pfx).startswith("/"):
        raise InvalidInput("no absolute voxops_prefix: set it in the inventory (all.vars) or pass --prefix")
    needs_secrets = any(t.credentials for _, t in topo.trunks())
    base = spec if spec.is_dir() else spec.parent
    jobs = plan(topo, str(pfx), resolve_secrets(topo, base) if needs_secrets else None)
    tpl = (templates or data_dir("templates")).resolve()
    private = Path(tempfile.mkdtemp(prefix="voxops-deploy-"))  # 0700: the plan holds the secrets
    try:
        jobs_file = private / "plan.json"
        fd = os.open(jobs_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(host_plans(topo, jobs), fh)
        extravars = {
            "voxops_prefix": str(pfx), "voxops_jobs_file": str(jobs_file), "voxops_templates": str(tpl),
            "voxops_python": sys.executable, "voxops_kamailio": which("kamailio"),
            "voxops_promtool": which("promtool"), "voxops_gate_timeout": gate_timeout,
            "voxops_rtpengine": which("rtpengine") if topo.sbc.media is not None else "",
        }
        cmdline = " ".join(a for a, on in (("--check", check), ("--diff", diff)) if on)
        diffs: list[str] = []
        r = ansible_runner.run(
            private_data_dir=str(private), project_dir=str(data_dir("playbooks")), playbook="site.yml",
            inventory=inv.path, extravars=extravars, cmdline=cmdline or None, envvars=_ansible_env(), quiet=True,
            event_handler=_progress(progress or sys.stderr, diffs), settings={"suppress_ansible_output": True},
        )
        stats = r.stats or {}
        if r.rc != 0 and not stats:
            raise CommandFailed(f"ansible-playbook could not run (rc {r.rc}): {r.stdout.read()[-400:] if r.stdout else ''}")
        failed = sorted(set(stats.get("failures", {})) | set(stats.get("dark", {})))
        return DeployReport(status=str(r.status), rc=int(r.rc), check=check,
                            changed=dict(stats.get("changed", {})), failed=failed, diffs=diffs)
    finally:
        shutil.rmtree(private, ignore_errors=True)
