"""Help at 80 columns: value names a user can read, and no word broken across lines."""

from __future__ import annotations

import re

import pytest

from voxops.cli.main import app, main

PLACEHOLDER = re.compile(r"<(?:bool|str|int|float|path|list\[[^\]]*\]|[a-z_]+)>|\{[a-z_]+\}")
BOX = re.compile(r"[\u2500-\u257f]")


def _commands() -> list[tuple[str, ...]]:
    import typer

    root = typer.main.get_command(app)
    found: list[tuple[str, ...]] = [()]

    def walk(group, prefix: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
        for name, sub in getattr(group, "commands", {}).items():
            found.append((*prefix, name))
            walk(sub, (*prefix, name))

    walk(root, ())
    return found


def _help(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, columns: int,
          command: tuple[str, ...]) -> str:
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.delenv("TERMINAL_WIDTH", raising=False)
    assert main([*command, "--help"]) == 0
    return capsys.readouterr().out


def _words(text: str) -> set[str]:
    return set(BOX.sub(" ", text).split())


@pytest.mark.parametrize("command", _commands(), ids=lambda c: " ".join(c) or "voxops")
def test_help_names_values_and_breaks_no_word(capsys, monkeypatch, command) -> None:  # type: ignore[no-untyped-def]
    narrow = _help(capsys, monkeypatch, 80, command)
    wide = _help(capsys, monkeypatch, 400, command)
    assert max(len(line) for line in narrow.splitlines()) <= 80
    assert not PLACEHOLDER.findall(narrow), PLACEHOLDER.findall(narrow)
    # a word folded at 80 columns ("mermai" + "d") is two words no wide rendering has
    broken = _words(narrow) - _words(wide)
    assert not broken, broken


def test_usage_names_arguments_in_capitals(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert "Usage: voxops ladder [OPTIONS] PCAP" in _help(capsys, monkeypatch, 80, ("ladder",))
    assert "Usage: voxops diagnose [OPTIONS] CALL_ID" in _help(capsys, monkeypatch, 80, ("diagnose",))
