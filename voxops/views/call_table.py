"""The `voxops calls` text table: fixed-width columns, stable when piped."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from voxops.analysis.call_list import CallSummary
from voxops.capture.sip import uri_user
from voxops.views.safe_text import visible

HEADERS = ("start (UTC)", "call-id", "method", "from", "to", "status", "duration", "pdd", "msgs", "legs")


def clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _party(uri: str | None) -> str:
    if not uri:
        return "-"
    return visible(uri_user(uri) or uri)


def _cells(r: CallSummary) -> tuple[str, ...]:
    return (
        clock(r.start),
        visible(r.call_id),
        visible(r.method),
        _party(r.from_uri),
        _party(r.to_uri),
        str(r.final_status) if r.final_status is not None else "-",
        f"{r.duration_s:.1f}s" if r.duration_s is not None else "-",
        f"{r.pdd_ms:.0f}ms" if r.pdd_ms is not None else "-",
        str(r.messages) + (f" ({r.retransmissions} rtx)" if r.retransmissions else ""),
        visible(",".join(r.legs)) or "-",
    )


def _line(cells: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip()


def write_calls(rows: Callable[[], Iterable[CallSummary]], write: Callable[[str], object] | None = None) -> None:
    """The table of `render_calls` written row by row (to `write`, else standard output):
    `rows` is read twice (the column widths, then the lines), so no row is held longer
    than it is printed."""
    write = write or sys.stdout.write
    widths = [len(h) for h in HEADERS]
    count = 0
    for r in rows():
        widths = [max(w, len(c)) for w, c in zip(widths, _cells(r), strict=True)]
        count += 1
    write(_line(HEADERS, widths) + "\n")
    for r in rows():
        write(_line(_cells(r), widths) + "\n")
    write(f"{count} dialog{'s' if count != 1 else ''}\n")


def render_calls(rows: list[CallSummary]) -> str:
    out: list[str] = []
    write_calls(lambda: rows, out.append)
    return "".join(out)
