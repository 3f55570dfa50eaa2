"""The other voxops commands a drill consults: diagnose, probe, dns, certs, ladder.

They run as `python -m voxops ...` subprocesses through their public CLI and JSON, so
a drill sees exactly what an on-call engineer would.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from voxops.errors import ExitCode, VoxopsError
from voxops.findings import Finding
from voxops.proc import run

# How a drill runs voxops: this interpreter, the installed package.
VOXOPS = [sys.executable, "-m", "voxops"]
# Exit codes of a command that ran to the end: no findings, or findings at --fail-on.
REPORTED = {ExitCode.OK, ExitCode.FINDINGS}


def voxops_json(args: list[str], *, timeout: float = 60) -> tuple[Any, str | None]:
    """(parsed JSON stdout of `voxops ARGS`, None), or (None, why there is no answer):
    it could not start or timed out, exited with neither 0 nor 1, or printed no JSON."""
    shown = f"voxops {' '.join(args[:1])}"
    try:
        cp = run([*VOXOPS, *args], timeout=timeout, check=False)
    except VoxopsError as exc:
        return None, f"{shown} did not run: {exc}"
    err = cp.stderr.decode(errors="replace").strip()
    tail = f": {err[-200:]}" if err else ""
    if cp.returncode not in REPORTED:
        return None, f"{shown} exited {cp.returncode} (expected 0 or 1){tail}"
    try:
        data = json.loads(cp.stdout.decode(errors="replace"))
    except ValueError:
        data = None
    if not isinstance(data, dict | list):
        return None, f"{shown} exited {cp.returncode} without a JSON report on stdout{tail}"
    return data, None


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
    """Findings of `voxops diagnose`, or (no findings, why it gave no answer)."""
    data, why = voxops_json(["diagnose", call_id, "--pcap", str(pcap), "--spec", str(spec), "--format", "json"])
    return ([], why) if why is not None else (findings_in(data), None)


def probe_findings(command: list[str], spec: Path, extra: list[str] | None = None) -> tuple[list[Finding], str | None]:
    """Findings of a probe command (`probe`, `dns`, `certs`) run against spec, or
    (no findings, why it gave no answer)."""
    data, why = voxops_json([*command, str(spec), *(extra or []), "--format", "json"])
    return ([], why) if why is not None else (findings_in(data), None)


def ladder_png(pcap: Path, call_id: str, out: Path, spec: Path) -> str | None:
    """Draw the call's SIP ladder as PNG with `voxops ladder`; the path, or None."""
    cp = run(
        [*VOXOPS, "ladder", str(pcap), "--call-id", call_id, "--format", "png", "--output", str(out), "--spec", str(spec)],
        timeout=120,
        check=False,
    )
    return str(out) if cp.returncode == 0 and out.exists() else None
