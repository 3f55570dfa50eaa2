"""The `voxops calls` text table: fixed-width columns, stable when piped."""

from __future__ import annotations

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


def render_calls(rows: list[CallSummary]) -> str:
    table = [HEADERS]
    for r in rows:
        table.append((
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
        ))
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADERS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in table]
    lines.append(f"{len(rows)} dialog{'s' if len(rows) != 1 else ''}")
    return "\n".join(lines) + "\n"
