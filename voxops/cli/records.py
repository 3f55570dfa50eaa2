"""`voxops calls --db URL`: search the call records a watch kept."""

from __future__ import annotations

import sys

from voxops.errors import ExitCode
from voxops.text.times import TimeMode
from voxops.views.output import TextJson, emit_json


def search_records(db: str, *, number: list[str], since: float | None, until: float | None,
                   trunk: str | None, finding: str | None, call_id: list[str], limit: int,
                   fmt: TextJson, width: int | None, full: bool, time: TimeMode) -> int:
    from voxops.records.store import Query, RecordStore

    store = RecordStore(db, create=False)
    try:
        found = []
        for cid in call_id or [None]:  # type: ignore[list-item]
            found += store.search(Query(number, since, until, trunk, finding, cid, limit))
    finally:
        store.close()
    if fmt is TextJson.json:
        emit_json([r.model_dump(mode="json") for r in found])
        return ExitCode.OK
    from voxops.text.fit import terminal_width
    from voxops.views.records import render_records

    sys.stdout.write(render_records(found, width=terminal_width(width), full=full))
    return ExitCode.OK
