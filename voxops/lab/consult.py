"""The other voxops commands a drill consults: diagnose, probe, dns, certs, ladder.

They run as `python -m voxops ...` subprocesses through their public CLI and JSON, so
a drill sees exactly what an on-call engineer would.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from voxops.findings import Finding
from voxops.proc import run


def available(command: str) -> bool:
    from voxops.cli.main import app

    names = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    names |= {g.name or "" for g in app.registered_groups}
    return command in names


def voxops_json(args: list[str], *, timeout: float = 60) -> tuple[int, Any, str]:
    """(exit code, parsed JSON stdout or None, stderr) of `voxops ARGS`."""
    cp = run([sys.executable, "-m", "voxops", *args], timeout=timeout, check=False)
    try:
        data = json.loads(cp.stdout.decode(errors="replace") or "null")
    except ValueError:
        data = None
    return cp.returncode, data, cp.stderr.decode(errors="replace").strip()


def findings_in(data: Any) -> list[Finding]:
    """Every finding anywhere in a command's JSON (objects with code, severity, message)."""
    found: list[Finding] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if {"code", "severity", "message"} <= node.keys():
                try:
                    found.append(Finding.model_validate({k: node[k] for k in Finding.model_fields if k in node}))
                    return
                except ValueError:
                    pass
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(data)
    return found


def diagnose(call_id: str, pcap: Path, spec: Path) -> tuple[list[Finding], str | None]:
    """Findings of `voxops diagnose`, or (no findings, why it could not run)."""
    if not available("diagnose"):
        return [], "voxops diagnose is not available in this build"
    code, data, err = voxops_json(
        ["diagnose", call_id, "--pcap", str(pcap), "--spec", str(spec), "--format", "json"]
    )
    if data is None:
        return [], f"voxops diagnose exited {code}: {err[-200:]}"
    return findings_in(data), None


def probe_findings(command: list[str], spec: Path, extra: list[str] | None = None) -> tuple[list[Finding], str | None]:
    """Findings of a probe command (`probe`, `dns`, `certs`) run against spec."""
    if not available(command[0]):
        return [], f"voxops {command[0]} is not available in this build"
    code, data, err = voxops_json([*command, str(spec), *(extra or []), "--format", "json"])
    if data is None:
        return [], f"voxops {' '.join(command)} exited {code}: {err[-200:]}"
    return findings_in(data), None


def ladder_png(pcap: Path, call_id: str, out: Path, spec: Path) -> str | None:
    """Draw the call's SIP ladder as PNG with `voxops ladder`; the path, or None."""
    if not available("ladder"):
        return None
    cp = run(
        [sys.executable, "-m", "voxops", "ladder", str(pcap), "--call-id", call_id, "--format", "png", "--output", str(out), "--spec", str(spec)],
        timeout=120,
        check=False,
    )
    return str(out) if cp.returncode == 0 and out.exists() else None
