"""`voxops deploy`: render and roll out the topology with Ansible."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from voxops.cli.common import FORMAT_OPTION, TextJson, emit_json
from voxops.errors import ExitCode


def deploy(
    spec: Path = typer.Argument(..., help="Topology spec (YAML file, or a directory holding topology.yaml)."),
    inventory: Path = typer.Option(
        None, "--inventory", "-i", help="Ansible inventory (directory with hosts.yml, or the file). Default: the local inventory."
    ),
    check: bool = typer.Option(False, "--check", help="Dry run: report what would change, change nothing."),
    diff: bool = typer.Option(False, "--diff", help="Show the changes to each rendered file."),
    prefix: str = typer.Option(None, "--prefix", help="Override the inventory's voxops_prefix (absolute)."),
    gate_timeout: float = typer.Option(15.0, "--gate-timeout", help="Seconds a node has to answer its health gate."),
    fmt: TextJson = FORMAT_OPTION,
) -> int:
    """Roll out: SBC nodes one at a time gated on SIP OPTIONS 200, agents drained and gated on /readyz."""
    from voxops.ops.deploy import deploy as run_deploy

    report = run_deploy(spec, inventory, check=check, diff=diff, prefix=prefix, gate_timeout=gate_timeout)
    if fmt is TextJson.json:
        emit_json(report)
    else:
        for d in report.diffs:
            sys.stdout.write(d)
        verb = "would change" if check else "changed"
        print(f"{report.status}: {report.total_changed} {verb}"
              + (f"; failed: {', '.join(report.failed)}" if report.failed else ""))
    return ExitCode.OK if report.rc == 0 else ExitCode.FINDINGS


def register(app: typer.Typer) -> None:
    app.command()(deploy)
