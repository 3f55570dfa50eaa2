"""Small topology specs written by the tests, pointing only at 127.0.7.x."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.specs import write_spec


def write_probe_spec(
    directory: Path,
    *,
    trunk_hosts: list[dict[str, Any]] | None = None,
    options_ping: dict[str, Any] | None = None,
    nodes: list[dict[str, Any]] | None = None,
    sbc_ping: dict[str, Any] | None = None,
    sbc_extra: dict[str, Any] | None = None,
    dns: dict[str, Any] | None = None,
    tls_endpoints: list[dict[str, Any]] | None = None,
) -> Path:
    trunk: dict[str, Any] = {
        "name": "carrier-a-main",
        "hosts": trunk_hosts or [{"address": "127.0.7.250", "port": 5060}],
    }
    if options_ping:
        trunk["options_ping"] = options_ping
    sbc: dict[str, Any] = {
        "domain": "sbc.probe.test",
        "nodes": nodes or [{"name": "sbc-1", "address": "127.0.7.251"}],
    }
    if sbc_ping:
        sbc["options_ping"] = sbc_ping
    sbc.update(sbc_extra or {})
    doc: dict[str, Any] = {
        "version": 1,
        "name": "probe-test",
        "carriers": [{"name": "carrier-a", "trunks": [trunk]}],
        "sbc": sbc,
        "agents": {"instances": [{"name": "agent-1", "host": "127.0.7.252"}]},
    }
    if dns:
        doc["dns"] = dns
    if tls_endpoints:
        doc["tls_endpoints"] = tls_endpoints
    return write_spec(doc, directory / "topology.yaml")
