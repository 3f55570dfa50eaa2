"""`voxops lab up|down|status|call|drill|demo`: the whole stack on this machine, and drills."""

from __future__ import annotations

from pathlib import Path

import typer

from voxops.cli.common import FORMAT_OPTION, TextJson, emit_json
from voxops.errors import ExitCode

DIR_OPTION = typer.Option(Path("lab"), "--dir", help="Run directory: state, pid files, logs, captures, reports.")


def _default_spec() -> Path:
    from voxops.resources import data_dir

    return data_dir("inventories") / "local"


def up(
    spec: Path = typer.Argument(None, help="Topology spec (default: voxops/data/inventories/local)."),
    run_dir: Path = DIR_OPTION,
    fmt: TextJson = FORMAT_OPTION,
) -> int:
    """Deploy the spec onto this machine, start carrier simulators and a capture."""
    from voxops.lab.stack import Lab
    from voxops.lab.views import print_status

    status = Lab(run_dir).up(spec or _default_spec())
    emit_json(status) if fmt is TextJson.json else print_status(status)
    return ExitCode.OK


def down(run_dir: Path = DIR_OPTION) -> int:
    """Stop every process the lab started; captures and reports stay."""
    from voxops.lab.stack import Lab

    stopped = Lab(run_dir).down()
    print(f"stopped {len(stopped)} process(es): {', '.join(stopped) or '-'}; captures and reports stay in {run_dir}")
    return ExitCode.OK


def status(run_dir: Path = DIR_OPTION, fmt: TextJson = FORMAT_OPTION) -> int:
    """What runs where, and whether it still runs."""
    from voxops.lab.stack import Lab
    from voxops.lab.views import print_status

    st = Lab(run_dir).status()
    emit_json(st) if fmt is TextJson.json else print_status(st)
    return ExitCode.OK if st.up and all(p.running for p in st.processes) else ExitCode.FINDINGS


def call(
    count: int = typer.Option(10, "--count", "-n", min=1, max=10000, help="Calls to place."),
    rate: float = typer.Option(5.0, "--rate", "-r", min=0.1, max=1000, help="New calls per second."),
    duration: float = typer.Option(5.0, "--duration", "-d", min=0, max=3600, help="Seconds each answered call is held."),
    node: int = typer.Option(0, "--node", min=0, help="Index of the SBC node to call through."),
    run_dir: Path = DIR_OPTION,
    fmt: TextJson = FORMAT_OPTION,
) -> int:
    """Place calls with SIPp (with RTP) from a carrier address through the SBC into the agents."""
    from voxops.lab.demo import place_lab_calls
    from voxops.lab.stack import Lab
    from voxops.lab.views import print_calls

    batch = place_lab_calls(Lab(run_dir), count=count, rate=rate, duration_s=duration, node=node)
    emit_json(batch) if fmt is TextJson.json else print_calls(batch)
    return ExitCode.OK if batch.answered == batch.placed else ExitCode.FINDINGS


def drill(
    name: str = typer.Argument(..., help="trunk-down, sbc-node-down, agent-down, overload, transcode, one-way-audio, cert-expiry, dns-split"),
    spec: Path = typer.Option(None, "--spec", help="Check the promises of this spec instead of the running one's."),
    rate: float = typer.Option(4.0, "--rate", min=0.1, max=1000, help="New calls per second while the fault is on."),
    hold: float = typer.Option(2.0, "--hold", min=0, max=600, help="Seconds each call is held."),
    ladder: bool = typer.Option(True, "--ladder/--no-ladder", help="Draw the representative call's ladder (PNG)."),
    run_dir: Path = DIR_OPTION,
    fmt: TextJson = FORMAT_OPTION,
) -> int:
    """Inject a fault while calls run; measure the spec's promises; pass or fail (exit 1)."""
    from voxops.lab.drill import Load, run_drill
    from voxops.lab.report import render_text

    report = run_drill(run_dir, name, spec=spec, load=Load(rate=rate, hold_s=hold), ladder=ladder)
    emit_json(report) if fmt is TextJson.json else print(render_text(report), end="")
    return ExitCode.OK if report.passed else ExitCode.FINDINGS


def demo(
    spec: Path = typer.Argument(None, help="Topology spec (default: voxops/data/inventories/local)."),
    drill_name: str = typer.Option("trunk-down", "--drill", help="The drill to run."),
    run_dir: Path = DIR_OPTION,
    fmt: TextJson = FORMAT_OPTION,
) -> int:
    """End to end: lab up, calls, one drill, the report, lab down."""
    from voxops.lab.demo import run_demo
    from voxops.lab.views import print_demo

    report = run_demo(run_dir, spec or _default_spec(), drill=drill_name)
    emit_json(report) if fmt is TextJson.json else print_demo(report)
    return ExitCode.OK if report.passed else ExitCode.FINDINGS


def register(app: typer.Typer) -> None:
    lab = typer.Typer(help="The whole stack on this machine (loopback), calls and failure drills.", no_args_is_help=True)
    for fn in (up, down, status, call, drill, demo):
        lab.command()(fn)
    app.add_typer(lab, name="lab")
