"""`voxops runbook [QUERY]`: the on-call runbook for a SIP code, finding, metric or symptom."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import typer

from voxops.errors import ExitCode, InvalidInput

if TYPE_CHECKING:  # the lookup module is imported when the command runs, not at start-up
    from voxops.runbooks import Runbook


class RunbookFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


def register(app: typer.Typer) -> None:
    @app.command("runbook")
    def runbook(
        query: list[str] = typer.Argument(
            None, metavar="QUERY", help="SIP code (503), finding code, metric (pdd) or words."
        ),
        list_all: bool = typer.Option(False, "--list", "-l", help="List every runbook."),
        fmt: RunbookFormat = typer.Option(
            RunbookFormat.text, "--format", "-f", help="Output format."
        ),
        open_docs: bool = typer.Option(False, "--open", help="Open the runbook's docs page."),
    ) -> int:
        """Show the runbook that answers a SIP code, finding code, metric or symptom."""
        from voxops import runbooks

        text = " ".join(query or []).strip()
        if list_all or not text:
            _emit_list(runbooks.load_all(), fmt)
            return ExitCode.OK
        matches = runbooks.search(text)
        if not matches:
            nearest = ", ".join(f"{rb.id} ({rb.meta.title})" for rb in runbooks.suggest(text))
            listing = "`voxops runbook --list` shows them all"
            shown = text if len(text) <= 60 else f"{text[:57]}..."
            raise InvalidInput(
                f"no runbook matches {shown!r}",
                hint=f"nearest: {nearest}; {listing}" if nearest else listing,
            )
        best, related = matches[0].runbook, [m.runbook.id for m in matches[1:]]
        if open_docs:
            import webbrowser

            url = runbooks.docs_url(best.id)
            typer.echo(url)
            webbrowser.open(url)
            return ExitCode.OK
        _emit_one(best, related, matches[0].reason, fmt)
        return ExitCode.OK


def _meta_json(rb: Runbook) -> dict[str, Any]:
    return rb.meta.model_dump(mode="json")


def _emit_list(books: Sequence[Runbook], fmt: RunbookFormat) -> None:
    if fmt is RunbookFormat.json:
        from voxops.cli.common import emit_json

        emit_json([_meta_json(rb) for rb in books])
        return
    if fmt is RunbookFormat.markdown:
        lines = ["| id | severity | title | SIP codes |", "|---|---|---|---|"]
        lines += [
            f"| {rb.id} | {rb.meta.severity.value} | {rb.meta.title} | "
            f"{', '.join(map(str, rb.meta.sip_codes))} |"
            for rb in books
        ]
        sys.stdout.write("\n".join(lines) + "\n")
        return
    from voxops.text.fit import Column, fit_table, terminal_width

    columns = [Column("id"), Column("severity"), Column("title", shrink_to=20, weight=2.0),
               Column("SIP codes", shrink_to=9)]
    rows = [[rb.id, rb.meta.severity.value, rb.meta.title, " ".join(map(str, rb.meta.sip_codes))]
            for rb in books]
    for line in fit_table(columns, rows, terminal_width()).lines[1:]:
        typer.echo(line)


def _emit_one(rb: Runbook, related: list[str], reason: str, fmt: RunbookFormat) -> None:
    if fmt is RunbookFormat.json:
        from voxops.cli.common import emit_json

        emit_json({**_meta_json(rb), "matched_by": reason, "related": related, "body": rb.body})
        return
    if fmt is RunbookFormat.markdown:
        sys.stdout.write(rb.markdown())
        return
    from rich.console import Console
    from rich.markdown import Markdown

    console = Console(soft_wrap=False)
    m = rb.meta
    console.print(Markdown(rb.markdown()))
    facts = [f"id: {m.id}", f"matched by {reason}", f"severity: {m.severity.value}"]
    if m.sip_codes:
        facts.append("SIP: " + " ".join(map(str, m.sip_codes)))
    if m.findings:
        facts.append("findings: " + " ".join(m.findings))
    console.print(" | ".join(facts), style="dim", highlight=False)
    if related:
        # A few, best first: a long list is noise at 3 a.m. (JSON has them all).
        more = f" (+{len(related) - 4} more)" if len(related) > 4 else ""
        console.print("See also: " + ", ".join(related[:4]) + more, highlight=False)
