"""The report of `voxops validate`: the spec's errors and its lint findings, each with its place."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from voxops.findings import Finding, Severity, fails
from voxops.spec.capacity import Capacity


class Located(BaseModel):
    model_config = ConfigDict(frozen=True)

    where: str
    finding: Finding


class ValidationReport(BaseModel):
    """JSON output of `voxops validate`: `errors` (strings, file:line:col: path: message),
    `findings` (lint findings with `where`), `valid` (no errors) and `capacity` (calls the
    agent hosts serve, 4 x workers each at most, against the SBC's admission limit)."""

    spec: str
    valid: bool
    errors: list[str]
    findings: list[Located]
    capacity: Capacity | None = None

    def failed(self, strict: bool) -> bool:
        threshold = Severity.warning if strict else Severity.error
        return fails([f.finding for f in self.findings], threshold)
