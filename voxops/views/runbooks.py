"""Runbooks on stdout: the list as a table, one runbook as rich Markdown, JSON or Markdown."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI imports this module for RunbookFormat: no pydantic at start-up
    from voxops.runbooks import Runbook

# A few, best first: a long list is noise at 3 a.m. (JSON has them all).
SEE_ALSO = 4


class RunbookFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


def _meta_json(rb: Runbook) -> dict[str, Any]:
    return rb.meta.model_dump(mode="json")


def print_runbook_list(books: Sequence[Runbook], fmt: RunbookFormat) -> None:
    if fmt is RunbookFormat.json:
        from voxops.views.output import emit_json

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
        print(line)


def print_runbook(rb: Runbook, related: list[str], reason: str, fmt: RunbookFormat) -> None:
    if fmt is RunbookFormat.json:
        from voxops.views.output import emit_json

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
        more = f" (+{len(related) - SEE_ALSO} more)" if len(related) > SEE_ALSO else ""
        console.print("See also: " + ", ".join(related[:SEE_ALSO]) + more, highlight=False)
