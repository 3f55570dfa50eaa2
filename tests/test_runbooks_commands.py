"""Every `voxops ...` line a runbook shows must be a real command with real options.

Parsed against the click command tree of the assembled app: the command path exists,
each option exists on that command, choice values are among its choices, and the
positional arguments fit. One test per shown command line.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main

from voxops import runbooks
from voxops.cli.main import app

_SHELL_OPERATORS = {"|", "||", "&", "&&", ";", ">", ">>", "<", "2>", "2>&1"}


DOCS = Path(__file__).resolve().parent.parent / "docs"
# Hand-written docs pages whose commands are checked here too.
DOC_PAGES = ["index.md", "getting-started.md"]


def _cases() -> list[Any]:
    sources = [(rb.id, rb.body) for rb in runbooks.load_all()]
    sources += [(f"docs-{p.removesuffix('.md')}", (DOCS / p).read_text()) for p in DOC_PAGES]
    cases = []
    for name, text in sources:
        for n, line in enumerate(runbooks.shown_commands(text), start=1):
            cases.append(pytest.param(line, id=f"{name}-{n}"))
    return cases


def _argv(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    argv = []
    for token in lexer:
        if token in _SHELL_OPERATORS or set(token) <= set("|&;<>"):
            break
        argv.append(token)
    return argv


def _is_placeholder(value: str) -> bool:
    """CALL_ID, SEV, NAME: stand-ins the engineer replaces, not literal values."""
    return value.replace("_", "").isupper()


def _choices(option: Any) -> list[str]:
    """Allowed values of a choice option (enum-typed in typer), else []."""
    if option is None:
        return []
    # typer with its own click keeps the type on a descriptor; plain click on `type`.
    holder = getattr(option, "type_descriptor", None) or getattr(option, "type", None)
    choices = getattr(holder, "choices", None) or []
    return [str(getattr(c, "value", c)) for c in choices]


def check_command_line(line: str, root: typer.Typer = app) -> list[str]:
    """Problems with one command line, checked against the app's click tree."""
    argv = _argv(line)
    if not argv or argv[0] != "voxops":
        return [f"not a voxops command: {line}"]
    cmd: Any = typer.main.get_command(root)
    path, args = ["voxops"], argv[1:]
    while hasattr(cmd, "commands") and args and not args[0].startswith("-"):
        sub = cmd.commands.get(args[0])
        if sub is None:
            known = ", ".join(sorted(cmd.commands))
            return [f"`{' '.join(path)}` has no command {args[0]!r} (it has: {known})"]
        path.append(args.pop(0))
        cmd = sub
    if hasattr(cmd, "commands") and not getattr(cmd, "invoke_without_command", False):
        return [f"`{' '.join(path)}` needs a subcommand ({', '.join(sorted(cmd.commands))})"]

    options = {
        name: p
        for p in cmd.params
        if p.param_type_name == "option"
        for name in (*p.opts, *p.secondary_opts)
    }
    problems, positionals, i = [], [], 0
    while i < len(args):
        token = args[i]
        if token.startswith("-") and token != "-":
            name, has_value, value = token.partition("=")
            option = options.get(name)
            if option is None:
                problems.append(f"`{' '.join(path)}` has no option {name} (has: {sorted(options)})")
            elif not option.is_flag and not option.count and not has_value:
                if i + 1 >= len(args):
                    problems.append(f"option {name} needs a value")
                value = args[i + 1] if i + 1 < len(args) else ""
                i += 1
            allowed = _choices(option)
            if allowed and value and not _is_placeholder(value) and value not in allowed:
                problems.append(f"{name} {value!r} is not one of {allowed}")
        else:
            positionals.append(token)
        i += 1
    arguments = [p for p in cmd.params if p.param_type_name == "argument"]
    required = sum(p.nargs if p.nargs > 0 else 1 for p in arguments if p.required)
    unbounded = any(p.nargs < 0 for p in arguments)
    most = sum(max(p.nargs, 0) for p in arguments)
    if len(positionals) < required:
        problems.append(f"`{' '.join(path)}` needs {required} argument(s), got {positionals}")
    if not unbounded and len(positionals) > most:
        problems.append(f"`{' '.join(path)}` takes {most} argument(s), got {positionals}")
    return problems


@pytest.mark.parametrize("line", _cases())
def test_runbook_command_is_real(line: str) -> None:
    assert check_command_line(line) == [], line


def test_checker_catches_wrong_commands() -> None:
    # The checker itself must fail on the mistakes it exists to catch.
    assert check_command_line("voxops runbook 503 --format json") == []
    assert check_command_line("voxops runbook --list | less") == []
    assert "no command" in check_command_line("voxops runbooks 503")[0]
    assert "no option --formt" in check_command_line("voxops runbook --formt json")[0]
    assert "not one of" in check_command_line("voxops runbook 503 --format yaml")[0]
    assert check_command_line("voxops runbook --format") == ["option --format needs a value"]


def test_every_runbook_shows_commands() -> None:
    # Commands first: a runbook with nothing to run does not help at 3 a.m.
    empty = [rb.id for rb in runbooks.load_all() if not runbooks.shown_commands(rb.body)]
    assert empty == []


def test_checker_walks_groups_and_arguments() -> None:
    demo = typer.Typer()
    agent = typer.Typer()

    @demo.command("diagnose")
    def diagnose(call_id: str, pcap: str = typer.Option(..., "--pcap")) -> None: ...

    @agent.command("run")
    def run(config: str = typer.Option(..., "--config")) -> None: ...

    demo.add_typer(agent, name="agent")
    assert check_command_line("voxops agent run --config agent.yaml", demo) == []
    assert check_command_line("voxops diagnose CALL_ID --pcap x.pcap", demo) == []
    assert "needs a subcommand" in check_command_line("voxops agent --config a.yaml", demo)[0]
    assert "has no command 'start'" in check_command_line("voxops agent start", demo)[0]
    assert "needs 1 argument" in check_command_line("voxops diagnose --pcap x.pcap", demo)[0]
    assert "takes 1 argument" in check_command_line("voxops diagnose A B --pcap x.pcap", demo)[0]
