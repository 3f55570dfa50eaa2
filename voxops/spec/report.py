"""`validate` as a function: load, check, lint, and report every problem with its place."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from voxops.errors import InvalidInput, SpecError
from voxops.findings import Finding, Severity, fails
from voxops.spec.capacity import Capacity, capacity
from voxops.spec.lint import lint
from voxops.spec.loader import load_topology


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


def validate_spec(path: str | Path, *, check_files: bool = False) -> ValidationReport:
    try:
        topology, located = load_topology(path, check_files=check_files)
    except SpecError as exc:
        return ValidationReport(spec=str(path), valid=False, errors=exc.problems, findings=[])
    except InvalidInput as exc:
        return ValidationReport(spec=str(path), valid=False, errors=[str(exc)], findings=[])
    found = [Located(where=located.where(loc), finding=f) for loc, f in lint(topology)]
    return ValidationReport(spec=str(path), valid=True, errors=[], findings=found, capacity=capacity(topology))
