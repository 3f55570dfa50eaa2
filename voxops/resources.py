"""Where the project's data directories live (templates, runbooks, inventories)."""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent


def data_dir(name: str) -> Path:
    """`templates`, `runbooks` or `inventories`: from the checkout, else from the install prefix."""
    for base in (_ROOT, Path(sys.prefix) / "share" / "voxops"):
        candidate = base / name
        if candidate.is_dir():
            return candidate
    return _ROOT / name
