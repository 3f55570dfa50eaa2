"""`voxops audit`: what a SIP scanner (sipvicious) learns about our own SBC."""

from __future__ import annotations

from pathlib import Path

import typer

from voxops.cli.common import FAIL_ON_OPTION, FORMAT_OPTION, NAGIOS_OPTION, TextJson
from voxops.ops.checks import report_command
from voxops.severity import Severity


def audit(
    sbc_address: str = typer.Argument(..., metavar="SBC_ADDRESS", help="SBC node address, optionally ADDRESS:PORT."),
    spec: Path | None = typer.Option(
        None, "--spec", help="Topology spec naming the SBC nodes (default: ./topology.yaml when present)."
    ),
    i_own_this: bool = typer.Option(
        False, "--i-own-this", help="Audit an address the spec does not name: you operate it."
    ),
    extensions: str = typer.Option("100-120,200,1000-1010", "--extensions", help="Extensions svwar tries."),
    method: str = typer.Option("REGISTER", "--method", help="svwar request method: REGISTER or OPTIONS (never INVITE: it rings phones)."),
    bind: str | None = typer.Option(None, "--bind", help="Local address to scan from (default: the route's)."),
    timeout: float = typer.Option(2.0, "--timeout", min=0.1, max=30, help="Seconds to wait for replies."),
    nagios: bool = NAGIOS_OPTION,
    fail_on: Severity = FAIL_ON_OPTION,
    fmt: TextJson = FORMAT_OPTION,
) -> int:
    """Run sipvicious svmap and svwar against our own SBC: does it answer scanners, can extensions be enumerated?"""
    from voxops.ops.audit import audit_spec
    from voxops.probes.views import print_audit

    return report_command(
        "SIP_EXPOSURE",
        lambda: audit_spec(sbc_address, spec, i_own_this=i_own_this, extensions=extensions,
                           method=method, timeout=timeout, bind=bind),
        print_audit, fmt=fmt, nagios=nagios, fail_on=fail_on,
    )


def register(app: typer.Typer) -> None:
    app.command()(audit)
