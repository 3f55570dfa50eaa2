"""`voxops validate`: load the spec, check it, lint it; every problem with its place."""

from __future__ import annotations

from pathlib import Path

from voxops.errors import InvalidInput, SpecError
from voxops.spec.capacity import capacity
from voxops.spec.lint import lint
from voxops.spec.loader import load_topology
from voxops.spec.report import Located, ValidationReport


def validate_spec(path: str | Path, *, check_files: bool = False) -> ValidationReport:
    try:
        topology, located = load_topology(path, check_files=check_files)
    except SpecError as exc:
        return ValidationReport(spec=str(path), valid=False, errors=exc.problems, findings=[])
    except InvalidInput as exc:
        return ValidationReport(spec=str(path), valid=False, errors=[str(exc)], findings=[])
    found = [Located(where=located.where(loc), finding=f) for loc, f in lint(topology)]
    return ValidationReport(spec=str(path), valid=True, errors=[], findings=found, capacity=capacity(topology))
