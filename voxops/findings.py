"""Findings: what every check in voxops reports, each with a stable code and a runbook.

Modules declare their codes once, at import time, with `FindingCode(...)`. The modules
that do are listed in `FINDING_MODULES`; `load_catalogue()` imports exactly those (no
directory walk, nothing heavy such as the agent's pjsua2) and returns the catalogue the
runbook lookup, the docs and their tests check against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from voxops.severity import Severity, fails, worst

__all__ = [
    "CATALOGUE",
    "FINDING_MODULES",
    "Finding",
    "FindingCode",
    "Severity",
    "fails",
    "load_catalogue",
    "worst",
]

# Every module that declares finding codes. A test scans the source tree for
# `FindingCode(` declarations and fails when this list and the tree disagree.
FINDING_MODULES: tuple[str, ...] = (
    "voxops.analysis.faults",
    "voxops.audio.conversation",
    "voxops.probes.dns_check",
    "voxops.probes.exposure",
    "voxops.probes.monitor",
    "voxops.probes.tls_check",
    "voxops.spec.lint",
)


class Finding(BaseModel):
    """One thing a check found. JSON field names are a public interface."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    severity: Severity
    message: str
    runbook: str | None = None
    where: str | None = Field(default=None, description="file:line, packet number, host, ...")
    evidence: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class FindingCode:
    """A stable finding code, its default severity, and the runbook that answers it."""

    code: str
    severity: Severity
    runbook: str
    summary: str

    def __post_init__(self) -> None:
        known = CATALOGUE.get(self.code)
        if known is not None and known != self:
            raise ValueError(f"finding code {self.code} declared twice with different meaning")
        CATALOGUE[self.code] = self

    def __call__(
        self,
        message: str,
        *,
        severity: Severity | None = None,
        where: str | None = None,
        **evidence: Any,
    ) -> Finding:
        return Finding(
            code=self.code,
            severity=severity or self.severity,
            message=message,
            runbook=self.runbook,
            where=where,
            evidence=evidence,
        )


CATALOGUE: dict[str, FindingCode] = {}


def load_catalogue() -> dict[str, FindingCode]:
    """Every finding code voxops declares, code -> FindingCode (imports FINDING_MODULES)."""
    import importlib

    for name in FINDING_MODULES:
        importlib.import_module(name)
    return dict(CATALOGUE)
