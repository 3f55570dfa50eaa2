"""`voxops agent run|config|callbacks`: the pjsua2 voice-agent service."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from voxops.cli.common import FORMAT_OPTION, TextJson, emit_json
from voxops.errors import ExitCode

agent_app = typer.Typer(help="The SIP voice-agent service (pjsua2): run it, render its config, read its IVR callbacks.")


@agent_app.command("run")
def run(
    config: Path | None = typer.Option(None, "--config", "-c", help="Agent config YAML (rendered from the spec)."),
    address: str | None = typer.Option(None, "--address", help="Quick start: SIP and health address."),
    sip_port: int | None = typer.Option(None, "--sip-port", help="Quick start: SIP port (UDP and TCP)."),
    health_port: int | None = typer.Option(None, "--health-port", help="Quick start: HTTP health/metrics port."),
    max_calls: int | None = typer.Option(None, "--max-calls", help="Quick start: concurrent call capacity."),
    pipeline: str | None = typer.Option(None, "--pipeline", help="Quick start: echo, prompt or module:Class."),
    dependency: list[str] = typer.Option([], "--dependency", help="Quick start: NAME=URL that must answer (repeatable)."),
    ivr_db: str | None = typer.Option(None, "--ivr-db", help="Quick start: SQLite file for IVR callback requests."),
    drain_timeout: int | None = typer.Option(None, "--drain-timeout", help="Quick start: seconds to let calls finish on SIGTERM."),
) -> int:
    """Run the agent until SIGTERM (then drain: refuse new calls, let active ones finish, exit 0)."""
    from voxops.agent.runner import build_config, run_agent

    cfg = build_config(
        config,
        address=address,
        sip_port=sip_port,
        health_port=health_port,
        max_calls=max_calls,
        pipeline=pipeline,
        dependencies=dependency,
        ivr_db=ivr_db,
        drain_timeout=drain_timeout,
    )
    return run_agent(cfg)


@agent_app.command("config")
def config_cmd(
    spec: Path = typer.Argument(..., help="Topology spec (YAML file or directory holding topology.yaml)."),
    instance: str = typer.Option(..., "--instance", "-i", help="Agent instance name in the spec."),
) -> int:
    """Print the agent config YAML of one instance of the spec's agent pool."""
    from voxops.agent.config import agent_config_for, dump_agent_config
    from voxops.spec.loader import load_topology

    topology, _ = load_topology(spec)
    sys.stdout.write(dump_agent_config(agent_config_for(topology, instance)))
    return ExitCode.OK


@agent_app.command("callbacks")
def callbacks(
    db: Path = typer.Option(..., "--db", help="The IVR's SQLite file (ivr.db in the agent config)."),
    fmt: TextJson = FORMAT_OPTION,
) -> int:
    """List the callback requests the overflow IVR stored."""
    from voxops.agent.ivr import read_callbacks
    from voxops.text.safe_text import visible

    rows = read_callbacks(db)
    if fmt is TextJson.json:
        emit_json([r.model_dump() for r in rows])
    else:
        for r in rows:  # the caller's URI and the digits come from the call
            print(visible(f"{r.created_at}  {r.number:<16} {r.agent}  {r.caller}  ({r.reason})"))
    return ExitCode.OK


def register(app: typer.Typer) -> None:
    app.add_typer(agent_app, name="agent")
