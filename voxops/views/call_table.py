"""The `voxops calls` text table: one row per dialog, laid out for the terminal's width.

Call-IDs are cut at the end (what is left is a prefix `--call-id` accepts), parties
too; when even that does not fit, the legs, method and retransmission columns are left
out, in that order. `full` keeps everything whole.
"""

from __future__ import annotations

from voxops.analysis.call_list import CallSummary
from voxops.capture.sip import uri_user
from voxops.text.fit import LAST_RESORT, PIPED_WIDTH, Column, fit_line, fit_table
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


def render_calls(rows: list[CallSummary], *, width: int = PIPED_WIDTH, full: bool = False,
                 time: TimeMode = TimeMode.rel) -> str:
    time = TimeMode(time)
    stamps = Stamps(time, min((r.start for r in rows), default=0.0))
    cells = []
    for r in rows:
        cells.append([
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
        ])
    table = fit_table(_columns(time), cells, width, full=full)
    lines = fit_line(stamps.header("the first dialog's start") if rows else "", width, full=full)
    lines = [ln for ln in lines if ln] + table.lines
    if table.dropped or table.elided:
        left_out = f"left out: {', '.join(table.dropped)}; " if table.dropped else ""
        lines += fit_line(f"(fitted to {width} columns: {left_out}--full or --width N shows more; "
                          "a shortened Call-ID is a prefix --call-id accepts)", width)
    lines.append(f"{len(rows)} dialog{'s' if len(rows) != 1 else ''}")
    return "\n".join(lines) + "\n"
