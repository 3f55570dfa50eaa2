from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
LOCAL = REPO / "voxops" / "data" / "inventories" / "local" / "topology.yaml"
PRODUCTION = REPO / "voxops" / "data" / "inventories" / "production" / "topology.yaml"


@pytest.fixture
def prod_data() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(PRODUCTION.read_text()))


@pytest.fixture
def write_spec(tmp_path):
    def write(data: dict[str, Any] | str, name: str = "topology.yaml") -> Path:
        path = tmp_path / name
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
        return path

    return write
