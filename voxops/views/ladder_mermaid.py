"""Mermaid `sequenceDiagram`: pastes into GitHub, GitLab and most incident tools.

Drawn from the same rows as the other pictures: retransmissions folded ("INVITE x3"),
SDP once per transaction, one arrow per media direction with its figures, failed hops
as notes; every arrow says its call-relative time (`t+0.000 s`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from voxops.analysis.ladder import Ladder
from voxops.text.safe_text import mermaid_text as _clean
from voxops.views.ladder import visible_ladder
from voxops.views.ladder_layout import layout


def render_mermaid(ladder: Ladder) -> str:
    ladder = visible_ladder(ladder)
    pic = layout(ladder)
    start = datetime.fromtimestamp(pic.t0, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    lines = ["sequenceDiagram", f"    %% time: t+ seconds since {start} UTC (first packet of the call)"]
    ids = [f"H{i}" for i in range(len(pic.columns))]
    for pid, name in zip(ids, pic.columns, strict=True):
        lines.append(f"    participant {pid} as {_clean(name)}")
    rows: list[tuple[int, str]] = []
    for m in pic.messages:
        a = m.arrow
        arrow = "--)" if len(m.copies) > 1 else "->>"
        rows.append((m.row, f"    {ids[a.src]}{arrow}{ids[a.dst]}: {_clean(m.label)} {pic.rel(a.ts)}"))
    for n in pic.notes:
        rows.append((n.row, f"    Note over {ids[n.src]},{ids[n.dst]}: {_clean(n.text)}"))
    for lane in pic.lanes:
        src, dst = ids[lane.src], ids[lane.dst]
        if lane.span is None:
            rows.append((lane.row, f"    Note over {src},{dst}: {_clean(lane.text)}"))
        else:
            s = lane.span
            text = f"{s.label} \u00b7 {lane.figures}"  # the SSRC too: a pasted diagram has no tooltips
            rows.append((lane.row, f"    {src}-){dst}: {_clean(text)} {pic.rel(s.start)} to {pic.rel(s.end)}"))
    lines += [text for _, text in sorted(rows, key=lambda r: r[0])]
    return "\n".join(lines) + "\n"
