"""Severity of a finding and the --fail-on test, without pydantic.

The command signatures need `Severity` for their --fail-on options; keeping it here (and
not next to the pydantic `Finding` model) keeps every command's start-up cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Protocol


class Severity(StrEnum):
    info = "info"
    warning = "warning"
    error = "error"
    critical = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.info: 0, Severity.warning: 1, Severity.error: 2, Severity.critical: 3}


class _Rated(Protocol):
    @property
    def severity(self) -> Severity: ...


def worst(findings: Iterable[_Rated]) -> Severity | None:
    return max((f.severity for f in findings), key=lambda s: s.rank, default=None)


def fails(findings: Iterable[_Rated], fail_on: Severity) -> bool:
    """True when any finding is at or above the --fail-on severity."""
    return any(f.severity.rank >= fail_on.rank for f in findings)
