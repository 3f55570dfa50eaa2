"""The ansible-runner adapter: a per-host plan handed to the playbooks, with live progress from its events."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import yaml
from pydantic import BaseModel

from voxops.errors import CommandFailed, InvalidInput
from voxops.proc import which
from voxops.resources import data_dir


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


def ansible_render(jobs: Sequence[BaseModel], out: Path, *, templates: Path | None = None) -> int:
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


def run_site(
    plans: dict[str, dict[str, Any]],
    inv: Inventory,
    prefix: str,
    *,
    media: bool,
    check: bool = False,
    diff: bool = False,
    templates: Path | None = None,
    gate_timeout: float = 15.0,
    progress: TextIO | None = None,
) -> DeployReport:
    """Run site.yml over the inventory with each host's plan (render jobs and health gate)."""
    import ansible_runner

    tpl = (templates or data_dir("templates")).resolve()
    private = Path(tempfile.mkdtemp(prefix="voxops-deploy-"))  # 0700: the plan holds the secrets
    try:
        jobs_file = private / "plan.json"
        fd = os.open(jobs_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(plans, fh)
        extravars = {
            "voxops_prefix": prefix, "voxops_jobs_file": str(jobs_file), "voxops_templates": str(tpl),
            "voxops_python": sys.executable, "voxops_kamailio": which("kamailio"),
            "voxops_promtool": which("promtool"), "voxops_gate_timeout": gate_timeout,
            "voxops_rtpengine": which("rtpengine") if media else "",
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
