"""The `voxops calls` text table: one row per dialog, laid out for the terminal's width.

Call-IDs are cut at the end (what is left is a prefix `--call-id` accepts), parties
too; when even that does not fit, the legs, method and retransmission columns are left
out, in that order. `full` keeps everything whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from voxops.analysis.call_list import CallSummary
from voxops.capture.sip import uri_user
from voxops.text.fit import LAST_RESORT, PIPED_WIDTH, Column, fit_layout, fit_line
from voxops.text.safe_text import visible
from voxops.text.times import Stamps, TimeMode, utc

CALL_ID_MIN = 24


def clock(ts: float) -> str:
    return utc(ts)


def _party(uri: str | None) -> str:
    if not uri:
        return "-"
    return visible(uri_user(uri) or uri)


def _columns(time: TimeMode) -> list[Column]:
    return [
        Column("start (UTC)" if time is TimeMode.abs else "start", right=time is not TimeMode.abs),
        Column("call-id", shrink_to=CALL_ID_MIN, weight=2.0),
        Column("method", shrink_to=6, drop=2),
        Column("from", shrink_to=9, middle=True, drop=LAST_RESORT + 2),
        Column("to", shrink_to=9, middle=True),
        Column("status"),
        Column("dur s", right=True, drop=LAST_RESORT),
        Column("pdd ms", right=True, drop=LAST_RESORT + 1),
        Column("msgs", right=True, drop=LAST_RESORT + 3),
        Column("rtx", right=True, drop=3),
        Column("legs", shrink_to=8, drop=1, weight=0.5),
    ]


def _cells(r: CallSummary, stamps: Stamps, time: TimeMode) -> list[str]:
    return [
        stamps(r.start) if time is not TimeMode.abs else utc(r.start)[11:],
        visible(r.call_id),
        visible(r.method),
        _party(r.from_uri),
        _party(r.to_uri),
        str(r.final_status) if r.final_status is not None else "-",
        f"{r.duration_s:.1f}" if r.duration_s is not None else "-",
        f"{r.pdd_ms:.0f}" if r.pdd_ms is not None else "-",
        str(r.messages),
        str(r.retransmissions) if r.retransmissions else "-",
        visible(",".join(r.legs)) or "-",
    ]


def render_calls(rows: list[CallSummary], *, width: int = PIPED_WIDTH, full: bool = False,
                 time: TimeMode = TimeMode.rel) -> str:
    out: list[str] = []
    write_calls(lambda: rows, out.append, width=width, full=full, time=time)
    return "".join(out)


def write_calls(rows: Callable[[], Iterable[CallSummary]], write: Callable[[str], object], *,
                width: int = PIPED_WIDTH, full: bool = False, time: TimeMode = TimeMode.rel) -> None:
    """The table of `render_calls` written a line at a time: `rows()` is read twice (the
    column widths, then the lines), so no row is held longer than it is printed."""
    time = TimeMode(time)
    columns = _columns(time)
    natural = [len(c.header) for c in columns]
    count, origin = 0, None
    for r in rows():
        origin = r.start if origin is None else min(origin, r.start)
        count += 1
    sizing = Stamps(time, origin or 0.0)
    for r in rows():
        natural = [max(w, len(cell)) for w, cell in zip(natural, _cells(r, sizing, time), strict=True)]
    layout = fit_layout(columns, natural, width, full=full)
    stamps = Stamps(time, origin or 0.0)
    for line in fit_line(stamps.header("the first dialog's start") if count else "", width, full=full):
        if line:
            write(line + "\n")
    write(layout.line([c.header for c in columns]) + "\n")
    for r in rows():
        write(layout.line(_cells(r, stamps, time)) + "\n")
    if layout.dropped or layout.elided:
        left_out = f"left out: {', '.join(layout.dropped)}; " if layout.dropped else ""
        for line in fit_line(f"(fitted to {width} columns: {left_out}--full or --width N shows more; "
                             "a shortened Call-ID is a prefix --call-id accepts)", width):
            write(line + "\n")
    write(f"{count} dialog{'s' if count != 1 else ''}\n")
