"""The docs pages generated at build time cover the real app, models and runbooks."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import typer.main

from voxops import runbooks
from voxops.cli.main import app

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hook", REPO / "docs/hooks/generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _walk(cmd: Any, path: list[str]) -> list[tuple[str, Any]]:
    found = [(" ".join(path), cmd)]
    for name, sub in getattr(cmd, "commands", {}).items():
        found += _walk(sub, [*path, name])
    return found


def test_cli_reference_documents_every_command_and_option(hook) -> None:
    page = hook.cli_reference()
    for path, cmd in _walk(typer.main.get_command(app), ["voxops"]):
        assert f"`{path}`" in page
        for param in cmd.params:
            if param.param_type_name == "option" and not param.hidden:
                for opt in param.opts:
                    assert f"`{opt}`" in page, f"{path} {opt}"
    assert "| `--format`, `-f` | text\\|json\\|markdown | `text` |" in page


def test_spec_reference_documents_every_model_field(hook) -> None:
    page = hook.spec_reference()
    models = hook._models_in("voxops.spec") + [runbooks.RunbookMeta]
    for model in models:
        assert f"### `{model.__name__}`" in page
        for name, field in model.model_fields.items():
            assert f"| `{field.alias or name}` |" in page


def test_runbook_pages_carry_front_matter_and_body(hook) -> None:
    for rb in runbooks.load_all():
        page = hook.runbook_page(rb)
        assert page.startswith(f"# {rb.meta.title}\n")
        assert f"| Severity | **{rb.meta.severity.value}** |" in page
        assert rb.body.strip() in page
    index = hook.runbooks_index()
    assert all(f"]({rb.id}.md)" in index for rb in runbooks.load_all())


def test_nav_drops_missing_pages_and_fills_sections(hook, tmp_path) -> None:
    (tmp_path / "index.md").write_text("# x\n")
    config: dict[str, Any] = {
        "docs_dir": str(tmp_path),
        "nav": [
            {"Home": "index.md"},
            {"Guides": [{"Not written yet": "nowhere.md"}]},
            {"Runbooks": "runbooks/index.md"},
            {"Reference": [{"CLI": "reference/cli.md"}]},
        ],
    }
    nav = hook.on_config(config)["nav"]
    assert nav[0] == {"Home": "index.md"}
    assert all("Guides" not in entry for entry in nav)
    section = nav[1]["Runbooks"]
    assert section[0] == "runbooks/index.md"
    assert {"Trunk down by OPTIONS": "runbooks/trunk-down.md"} in section
    assert nav[2] == {"Reference": [{"CLI": "reference/cli.md"}]}
