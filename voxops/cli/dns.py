"""`voxops dns`: the spec's DNS records asked of every vantage resolver, answers compared."""

from __future__ import annotations

from pathlib import Path

import typer

from voxops.cli.common import FAIL_ON_OPTION, FORMAT_OPTION, NAGIOS_OPTION, TextJson
from voxops.ops.checks import report_command
from voxops.severity import Severity


def dns(
    spec: Path = typer.Argument(..., help="Topology spec (YAML file, or a directory holding topology.yaml)."),
    nagios: bool = NAGIOS_OPTION,
    fail_on: Severity = FAIL_ON_OPTION,
    fmt: TextJson = FORMAT_OPTION,
) -> int:
    """Ask every vantage for every record at once: disagreement, stray addresses, NXDOMAIN, TTLs, timeouts."""
    from voxops.ops.dns import check_dns_spec
    from voxops.probes.views import print_dns

    return report_command("DNS", lambda: check_dns_spec(spec), print_dns, fmt=fmt, nagios=nagios, fail_on=fail_on)


def register(app: typer.Typer) -> None:
    app.command()(dns)
