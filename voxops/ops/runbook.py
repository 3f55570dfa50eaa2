"""`voxops runbook`: the runbook answering a SIP code, finding code, metric or symptom."""

from __future__ import annotations

from pydantic import BaseModel

from voxops.errors import InvalidInput
from voxops.runbooks import Runbook


class RunbookAnswer(BaseModel):
    runbook: Runbook
    reason: str  # what matched: the code, finding, metric or words
    related: list[str]  # the other matches' ids, best first


def all_runbooks() -> tuple[Runbook, ...]:
    from voxops.runbooks import load_all

    return load_all()


def find_runbook(query: str) -> RunbookAnswer:
    """The best match; InvalidInput naming the nearest runbooks when nothing answers."""
    from voxops.runbooks import search, suggest

    matches = search(query)
    if not matches:
        nearest = ", ".join(f"{rb.id} ({rb.meta.title})" for rb in suggest(query))
        listing = "`voxops runbook --list` shows them all"
        shown = query if len(query) <= 60 else f"{query[:57]}..."
        raise InvalidInput(f"no runbook matches {shown!r}", hint=f"nearest: {nearest}; {listing}" if nearest else listing)
    return RunbookAnswer(runbook=matches[0].runbook, reason=matches[0].reason, related=[m.runbook.id for m in matches[1:]])


def docs_page(runbook: Runbook) -> str:
    """The address of the runbook's docs page."""
    from voxops.runbooks import docs_url

    return docs_url(runbook.id)


def open_in_browser(url: str) -> None:
    import webbrowser

    webbrowser.open(url)
