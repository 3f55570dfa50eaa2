"""`voxops runbook [QUERY]`: the on-call runbook for a SIP code, finding, metric or symptom."""

from __future__ import annotations

import typer

from voxops.errors import ExitCode
from voxops.views.runbooks import RunbookFormat


def runbook(
    query: list[str] = typer.Argument(None, metavar="QUERY", help="SIP code (503), finding code, metric (pdd) or words."),
    list_all: bool = typer.Option(False, "--list", "-l", help="List every runbook."),
    fmt: RunbookFormat = typer.Option(RunbookFormat.text, "--format", "-f", help="Output format."),
    open_docs: bool = typer.Option(False, "--open", help="Open the runbook's docs page."),
) -> int:
    """Show the runbook that answers a SIP code, finding code, metric or symptom."""
    from voxops.ops import runbook as ops
    from voxops.views.runbooks import print_runbook, print_runbook_list

    text = " ".join(query or []).strip()
    if list_all or not text:
        print_runbook_list(ops.all_runbooks(), fmt)
        return ExitCode.OK
    answer = ops.find_runbook(text)
    if open_docs:
        url = ops.docs_page(answer.runbook)
        typer.echo(url)
        ops.open_in_browser(url)
    else:
        print_runbook(answer.runbook, answer.related, answer.reason, fmt)
    return ExitCode.OK


def register(app: typer.Typer) -> None:
    app.command("runbook")(runbook)
