"""The last line of defence in voxops.cli.main: interrupts and bugs become documented exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import voxops.ops.validate
from voxops.errors import ExitCode


def _raise(exc: BaseException):
    def fail(*args: object, **kwargs: object) -> None:
        raise exc

    return fail


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), EOFError()], ids=["ctrl-c", "eof"])
def test_interrupt_is_130_without_traceback(cli, monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    monkeypatch.setattr(voxops.ops.validate, "validate_spec", _raise(exc))
    code, out, err = cli("validate", "voxops/data/inventories/local")
    assert code == ExitCode.INTERRUPTED == 130
    assert "Traceback" not in err and out == ""
    if isinstance(exc, EOFError):  # typer turns it into Abort, which main() reports
        assert err.strip() == "voxops: interrupted"


def test_bug_is_exit_4_with_the_traceback_in_a_log(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(voxops.ops.validate, "validate_spec", _raise(ZeroDivisionError("boom")))
    code, _, err = cli("validate", "voxops/data/inventories/local")
    assert code == ExitCode.INTERNAL
    found = re.search(r"unexpected error: ZeroDivisionError: boom \(details in (\S+)\)", err)
    assert found, err
    log = Path(found.group(1))
    try:
        assert "Traceback" in log.read_text() and "ZeroDivisionError: boom" in log.read_text()
    finally:
        log.unlink()


def test_usage_error_is_exit_2(cli) -> None:
    code, _, err = cli("validate", "voxops/data/inventories/local", "--no-such-flag")
    assert code == ExitCode.INVALID_INPUT
    assert "--no-such-flag" in err
