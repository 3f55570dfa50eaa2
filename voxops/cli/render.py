"""`voxops render`: every config of the topology, from voxops/data/templates/."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from voxops.cli.common import FORMAT_OPTION, TextJson, emit_json
from voxops.errors import ExitCode


def render(
    spec: Path = typer.Argument(..., help="Topology spec (YAML file, or a directory holding topology.yaml)."),
    out: Path = typer.Option(..., "--output", "-o", help="Directory to write the rendered files into."),
    prefix: str = typer.Option(
        None, "--prefix", help="Absolute directory the files will live in (paths inside configs). Default: the output directory."
    ),
    check: bool = typer.Option(False, "--check", help="Run `kamailio -c` on each SBC node's rendered config, and rtpengine on its relay config."),
    fmt: TextJson = FORMAT_OPTION,
) -> int:
    """Render Kamailio, dispatcher, TLS, trunk, agent and alert-rule files from the spec."""
    from voxops.ops.render import render_spec

    report = render_spec(spec, out, prefix=prefix, check=check)
    if fmt is TextJson.json:
        emit_json(report)
    else:
        for f in report.files:
            print(f"{f.mode} {f.path}")
        for c in report.checks:
            tool = "rtpengine" if c.config.endswith("rtpengine.conf") else "kamailio -c"
            print(f"{'ok' if c.ok else 'FAILED'}: {tool} {c.config}: {c.detail}", file=sys.stderr)
    return ExitCode.FINDINGS if any(not c.ok for c in report.checks) else ExitCode.OK


def register(app: typer.Typer) -> None:
    app.command()(render)
