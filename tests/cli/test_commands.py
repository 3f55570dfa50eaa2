"""The command modules voxops loads are the ones it has, and the commands it offers are the
ones the README and the docs home page list: no command appears or vanishes unnoticed."""

from __future__ import annotations

import ast
import re
import sys
import types
from pathlib import Path

import pytest
import typer.main

from voxops.cli import main as cli_main

REPO = Path(__file__).resolve().parents[2]
CLI_DIR = REPO / "voxops" / "cli"
NOT_COMMAND_MODULES = {"main", "__init__"}
COMMAND_CALLS = {"command", "add_typer", "Typer"}  # app.command(), app.add_typer(), typer.Typer()


def _module_source(name: str) -> str:
    path = CLI_DIR / f"{name}.py"
    return (path if path.is_file() else CLI_DIR / name / "__init__.py").read_text()


def _defines_commands(source: str) -> bool:
    """A register() function, or typer commands / command groups made at any depth."""
    tree = ast.parse(source)
    if any(isinstance(n, ast.FunctionDef) and n.name == "register" for n in tree.body):
        return True
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in COMMAND_CALLS:
            return True
    return False


def _has_register(source: str) -> bool:
    return any(isinstance(n, ast.FunctionDef) and n.name == "register" for n in ast.parse(source).body)


def _cli_modules() -> set[str]:
    names = {p.stem for p in CLI_DIR.glob("*.py")}
    names |= {p.parent.name for p in CLI_DIR.glob("*/__init__.py")}
    return names - NOT_COMMAND_MODULES


def _top_level_commands() -> set[str]:
    return set(typer.main.get_command(cli_main.app).commands)  # type: ignore[attr-defined]


def _documented(text: str, section: str, pattern: str) -> set[str]:
    """First words of the commands shown in one `## section` of a markdown page."""
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(pattern, body))


def test_every_listed_module_has_register() -> None:
    lacking = [n for n in cli_main.COMMAND_MODULES if not _has_register(_module_source(n))]
    assert lacking == [], f"listed in COMMAND_MODULES without a register(app): {lacking}"
    assert len(set(cli_main.COMMAND_MODULES)) == len(cli_main.COMMAND_MODULES)


def test_every_module_defining_commands_is_listed() -> None:
    defining = {n for n in _cli_modules() if _defines_commands(_module_source(n))}
    unlisted = sorted(defining - set(cli_main.COMMAND_MODULES))
    assert unlisted == [], f"voxops/cli modules with commands missing from COMMAND_MODULES: {unlisted}"
    # and the scan itself sees commands where there are some
    assert set(cli_main.COMMAND_MODULES) <= defining


def test_a_listed_module_without_register_stops_the_build(monkeypatch) -> None:
    stray = types.ModuleType("voxops.cli.stray")  # a module with no register(app)
    monkeypatch.setitem(sys.modules, "voxops.cli.stray", stray)
    with pytest.raises(ImportError, match=r"voxops\.cli\.stray .*register"):
        cli_main.build_app(("spec", "stray"))


def test_commands_are_the_documented_ones() -> None:
    commands = _top_level_commands()
    readme = _documented((REPO / "README.md").read_text(), "Commands", r"`voxops ([a-z][a-z-]*)")
    home = _documented((REPO / "docs" / "index.md").read_text(), "What it does", r"`([a-z][a-z-]*)[ `]")
    assert commands == readme, f"README Commands table: missing {commands - readme}, stale {readme - commands}"
    assert commands == home, f"docs/index.md: missing {commands - home}, stale {home - commands}"

