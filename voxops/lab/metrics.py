"""Reading the SBC's own Prometheus metrics (xhttp_prom on each node's metrics port)."""

from __future__ import annotations

import re
import urllib.request

from voxops.spec.models import Topology

_LINE = re.compile(r"^(\w+)(\{[^}]*\})?\s+([0-9.eE+-]+)")


def scrape(address: str, port: int, timeout_s: float = 2.0) -> dict[str, float]:
    """'name{labels}' -> value; empty when the node exports nothing."""
    try:
        with urllib.request.urlopen(f"http://{address}:{port}/metrics", timeout=timeout_s) as resp:
            text = resp.read().decode(errors="replace")
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def overflow_total(topology: Topology, node_index: int) -> int:
    """Calls the node sent to the IVR fallback so far (0 when it exports no such metric)."""
    node = topology.sbc.nodes[node_index]
    if node.metrics_port is None:
        return 0
    values = scrape(node.address, node.metrics_port)
    return int(sum(v for k, v in values.items() if k.startswith("voxops_sbc_overflow_total")))
