"""`voxops dns`: the spec's DNS records asked of every vantage resolver."""

from __future__ import annotations

from pathlib import Path

from voxops.probes.dns_check import DnsReport, check_dns
from voxops.spec.loader import load_topology


def check_dns_spec(spec: Path) -> DnsReport:
    topology, _ = load_topology(spec)
    return check_dns(topology, str(spec))
