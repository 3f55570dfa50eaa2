from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.specs import write_spec as support_write_spec

REPO = Path(__file__).resolve().parents[2]
LOCAL = REPO / "voxops" / "data" / "inventories" / "local" / "topology.yaml"
PRODUCTION = REPO / "voxops" / "data" / "inventories" / "production" / "topology.yaml"


@pytest.fixture
def prod_data() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(PRODUCTION.read_text()))


@pytest.fixture
def write_spec(tmp_path):
    def write(data: dict[str, Any] | str, name: str = "topology.yaml") -> Path:
        return support_write_spec(data, tmp_path / name)

    return write
