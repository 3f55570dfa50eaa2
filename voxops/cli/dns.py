"""`voxops dns`: the spec's DNS records asked of every vantage resolver, answers compared."""

from __future__ import annotations

from pathlib import Path

import typer

from voxops.cli.common import FORMAT_OPTION, TextJson
from voxops.findings import Severity
from voxops.probes.output import FAIL_ON_OPTION, NAGIOS_OPTION, emit_check, run_check


def dns(
    spec: Path = typer.Argument(..., help="Topology spec (YAML file, or a directory holding topology.yaml)."),
    nagios: bool = NAGIOS_OPTION,
    fail_on: Severity = FAIL_ON_OPTION,
    fmt: TextJson = FORMAT_OPTION,
) -> int:
    """Ask every vantage for every record at once: disagreement, stray addresses, NXDOMAIN, TTLs, timeouts."""

    def check() -> int:
        from voxops.probes.dns_check import check_dns
        from voxops.probes.views import print_dns
        from voxops.spec.loader import load_topology

        topology, _ = load_topology(spec)
        report = check_dns(topology, str(spec))
        return emit_check("DNS", report, fmt=fmt, nagios=nagios, fail_on=fail_on, text=lambda: print_dns(report))

    return run_check("DNS", nagios, check)


def register(app: typer.Typer) -> None:
    app.command()(dns)
