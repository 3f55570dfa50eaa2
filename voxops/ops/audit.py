"""`voxops audit`: sipvicious against our own SBC, the spec saying which addresses are ours."""

from __future__ import annotations

from pathlib import Path

from voxops.probes.exposure import AuditReport, audit
from voxops.spec.loader import load_topology

DEFAULT_SPEC = Path("topology.yaml")


def audit_spec(target: str, spec: Path | None, *, i_own_this: bool, extensions: str, method: str,
               timeout: float, bind: str | None) -> AuditReport:
    """`spec` None: ./topology.yaml when there is one, else no spec (then only --i-own-this audits)."""
    if spec is None and DEFAULT_SPEC.exists():
        spec = DEFAULT_SPEC
    topology = load_topology(spec)[0] if spec is not None else None
    return audit(target, topology=topology, i_own_this=i_own_this, extensions=extensions, method=method.upper(),
                 timeout=timeout, bind=bind)
