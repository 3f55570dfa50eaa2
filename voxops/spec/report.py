"""The report of `voxops validate`: the spec's errors and its lint findings, each with its place."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from voxops.findings import Finding, Severity, fails


class Located(BaseModel):
    model_config = ConfigDict(frozen=True)

    where: str
    finding: Finding


class ValidationReport(BaseModel):
    """JSON output of `voxops validate`: `errors` (strings, file:line:col: path: message),
    `findings` (lint findings with `where`), and `valid` (no errors)."""

    spec: str
    valid: bool
    errors: list[str]
    findings: list[Located]

    def failed(self, strict: bool) -> bool:
        threshold = Severity.warning if strict else Severity.error
        return fails([f.finding for f in self.findings], threshold)
