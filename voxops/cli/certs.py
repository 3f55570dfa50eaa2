"""`voxops certs`: the spec's TLS endpoints: expiry, names, trust, protocol, mTLS, silent fallback."""

from __future__ import annotations

from pathlib import Path

import typer

from voxops.cli.common import FORMAT_OPTION, TextJson
from voxops.findings import Severity
from voxops.probes.output import FAIL_ON_OPTION, NAGIOS_OPTION, emit_check, run_check


def certs(
    spec: Path = typer.Argument(..., help="Topology spec (YAML file, or a directory holding topology.yaml)."),
    endpoint: str | None = typer.Option(None, "--endpoint", help="Only this tls_endpoints entry."),
    timeout: float = typer.Option(3.0, "--timeout", min=0.05, max=60, help="Seconds for each connection."),
    nagios: bool = NAGIOS_OPTION,
    fail_on: Severity = FAIL_ON_OPTION,
    fmt: TextJson = FORMAT_OPTION,
) -> int:
    """Connect to every TLS endpoint: days to expiry, hostname, chain vs the CA, protocol, client certs, fallback."""

    def check() -> int:
        from voxops.probes.tls_check import check_certs
        from voxops.probes.views import print_certs
        from voxops.spec.loader import load_topology

        topology, _ = load_topology(spec)
        report = check_certs(topology, spec, timeout=timeout, only=endpoint)
        return emit_check("TLS", report, fmt=fmt, nagios=nagios, fail_on=fail_on, text=lambda: print_certs(report))

    return run_check("TLS", nagios, check)


def register(app: typer.Typer) -> None:
    app.command()(certs)
