"""`voxops probe`: SIP OPTIONS health of every trunk host and SBC node."""

from __future__ import annotations

from pathlib import Path

import typer

from voxops.cli.common import FAIL_ON_OPTION, FORMAT_OPTION, NAGIOS_OPTION, TextJson
from voxops.ops.checks import run_check
from voxops.severity import Severity


def probe(
    spec: Path = typer.Argument(..., help="Topology spec (YAML file, or a directory holding topology.yaml)."),
    watch: bool = typer.Option(False, "--watch", help="Keep probing at the spec's intervals and show a live table."),
    once: bool = typer.Option(
        False, "--once", help="Probe until every target has an up/down verdict, then exit (for cron)."
    ),
    target: str | None = typer.Option(None, "--target", help="Only this trunk, carrier or SBC node."),
    prometheus: Path | None = typer.Option(
        None, "--prometheus", help="Write textfile-collector metrics here (atomically, after every round)."
    ),
    rounds: int | None = typer.Option(None, "--rounds", min=1, help="Stop after this many rounds (without --once)."),
    timeout: float = typer.Option(2.0, "--timeout", min=0.05, max=60, help="Seconds to wait for each reply."),
    call: bool = typer.Option(
        False, "--call", help="Place a test call with audio through each SBC node (PDD, RTP both ways, loss, MOS)."
    ),
    call_from: str | None = typer.Option(
        None, "--call-from", help="--call: local address to call from (default: the first trunk host's address)."
    ),
    call_to: str = typer.Option("agent", "--call-to", help="--call: the number or service the test call dials."),
    call_seconds: float = typer.Option(3.0, "--call-seconds", min=0.2, max=60, help="--call: seconds of audio."),
    nagios: bool = NAGIOS_OPTION,
    fail_on: Severity = FAIL_ON_OPTION,
    fmt: TextJson = FORMAT_OPTION,
) -> int:
    """SIP OPTIONS to every trunk host and SBC node socket: up/down by the spec's thresholds, RTT, last code.

    Without --once it keeps probing at each target's interval, printing state changes (or a live table with --watch) until interrupted or --rounds is reached.
    """
    from voxops.ops.probe import ProbeRun
    from voxops.output_file import check_output

    check_output(prometheus)  # a device, FIFO or link is refused before the first round
    if call:
        return _call(spec, target, call_from, call_to, call_seconds, timeout, prometheus, nagios, fail_on, fmt)

    def make() -> ProbeRun:
        return ProbeRun(spec, target=target, timeout=timeout, prometheus=prometheus)

    if once or nagios:
        return run_check("SIP_OPTIONS", nagios, lambda: make().once(fmt=fmt, nagios=nagios, fail_on=fail_on))
    return make().forever(watch=watch, rounds=rounds, fmt=fmt, fail_on=fail_on)


def _call(spec: Path, target: str | None, source: str | None, service: str, seconds: float, timeout: float,
          prometheus: Path | None, nagios: bool, fail_on: Severity, fmt: TextJson) -> int:
    from voxops.ops.probe_call import call_command

    return call_command(spec, target=target, source=source, service=service, seconds=seconds,
                        timeout=max(timeout, 5.0), prometheus=prometheus, nagios=nagios, fail_on=fail_on, fmt=fmt)


def register(app: typer.Typer) -> None:
    app.command()(probe)
