"""The data voxops ships is found inside the package, and its absence is one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

import voxops
from voxops import resources
from voxops.errors import EnvironmentProblem

PACKAGE = Path(voxops.__file__).resolve().parent


@pytest.mark.parametrize(
    "name, inside",
    [("templates", "data"), ("runbooks", "data"), ("inventories", "data"), ("playbooks", "deploy")],
)
def test_shipped_data_lives_inside_the_package(name, inside) -> None:
    found = resources.data_dir(name)
    assert found.resolve() == PACKAGE / inside / name
    assert any(found.iterdir())


def test_missing_data_is_an_environment_problem(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(resources.resources, "files", lambda package: tmp_path)
    with pytest.raises(EnvironmentProblem, match="templates are missing from its installation"):
        resources.data_dir("templates")


def test_cli_without_shipped_templates_exits_3_in_one_line(cli, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(resources.resources, "files", lambda package: tmp_path)
    code, _, err = cli("init", tmp_path / "topology.yaml")
    assert code == 3
    assert len(err.strip().splitlines()) <= 2 and "Traceback" not in err
    assert "templates are missing" in err
    assert not (tmp_path / "topology.yaml").exists()


def test_every_code_folder_is_a_package_the_wheel_ships() -> None:
    """setuptools finds packages by their __init__.py: a folder of modules without one is
    left out of the wheel, and its commands fail only once installed."""
    folders = {p.parent for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    missing = sorted(str(f.relative_to(PACKAGE)) for f in folders if not (f / "__init__.py").exists())
    assert missing == []
