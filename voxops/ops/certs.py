"""`voxops certs`: every TLS endpoint of the spec, handshaken and its certificate checked."""

from __future__ import annotations

from pathlib import Path

from voxops.probes.tls_check import CertsReport, check_certs
from voxops.spec.loader import load_topology


def check_certs_spec(spec: Path, *, timeout: float = 3.0, only: str | None = None) -> CertsReport:
    topology, _ = load_topology(spec)
    return check_certs(topology, spec, timeout=timeout, only=only)
