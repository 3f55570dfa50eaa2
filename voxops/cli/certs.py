"""`voxops certs`: the spec's TLS endpoints: expiry, names, trust, protocol, mTLS, silent fallback."""

from __future__ import annotations

from pathlib import Path

import typer

from voxops.cli.common import FAIL_ON_OPTION, FORMAT_OPTION, NAGIOS_OPTION, TextJson
from voxops.ops.checks import report_command
from voxops.severity import Severity


def certs(
    spec: Path = typer.Argument(..., help="Topology spec (YAML file, or a directory holding topology.yaml)."),
    endpoint: str | None = typer.Option(None, "--endpoint", help="Only this tls_endpoints entry."),
    timeout: float = typer.Option(3.0, "--timeout", min=0.05, max=60, help="Seconds for each connection."),
    nagios: bool = NAGIOS_OPTION,
    fail_on: Severity = FAIL_ON_OPTION,
    fmt: TextJson = FORMAT_OPTION,
) -> int:
    """Connect to every TLS endpoint: days to expiry, hostname, chain vs the CA, protocol, client certs, fallback."""
    from voxops.ops.certs import check_certs_spec
    from voxops.probes.views import print_certs

    return report_command(
        "TLS", lambda: check_certs_spec(spec, timeout=timeout, only=endpoint), print_certs,
        fmt=fmt, nagios=nagios, fail_on=fail_on,
    )


def register(app: typer.Typer) -> None:
    app.command()(certs)
