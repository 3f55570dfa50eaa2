"""Call records as a text table (`voxops calls --db`)."""

from __future__ import annotations

from voxops.records.model import CallRecord
from voxops.text.fit import LAST_RESORT, Column, fit_table
from voxops.text.safe_text import visible
from voxops.text.times import utc

COLUMNS = [
    Column("start (UTC)"),
    Column("call-id", shrink_to=16, weight=2.0),
    Column("node", shrink_to=6, drop=4),
    Column("from", shrink_to=9, middle=True, drop=2),
    Column("to", shrink_to=9, middle=True),
    Column("trunk", shrink_to=8, drop=3),
    Column("status"),
    Column("pdd ms", right=True, drop=LAST_RESORT),
    Column("mos", right=True, drop=1),
    Column("findings", shrink_to=10),
]


def _row(r: CallRecord) -> list[str]:
    return [
        utc(r.start), visible(r.call_id), visible(r.node or "-"), r.from_number or "-", r.to_number or "-",
        visible(r.trunk or "-"), str(r.final_status or "-"), f"{r.pdd_ms:g}" if r.pdd_ms is not None else "-",
        f"{r.mos_min:.2f}" if r.mos_min is not None else "-", ",".join(r.finding_codes) or "-",
    ]


def render_records(records: list[CallRecord], *, width: int, full: bool = False) -> str:
    if not records:
        return "no call record matches\n"
    table = fit_table(COLUMNS, [_row(r) for r in records], width, full=full)
    return "\n".join(table.lines) + "\n"
