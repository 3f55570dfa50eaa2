"""Mermaid `sequenceDiagram`: pastes into GitHub, GitLab and most incident tools."""

from __future__ import annotations

from voxops.analysis.ladder import Arrow, Ladder
from voxops.views.ladder import visible_ladder
from voxops.views.safe_text import mermaid_text as _clean


def render_mermaid(ladder: Ladder) -> str:
    ladder = visible_ladder(ladder)
    lines = ["sequenceDiagram"]
    ids = [f"H{i}" for i in range(len(ladder.columns))]
    for pid, name in zip(ids, ladder.columns, strict=True):
        lines.append(f"    participant {pid} as {_clean(name)}")
    t0 = ladder.start
    for ts, kind, item in ladder.events():
        rel = f"+{ts - t0:.3f}s"
        src, dst = ids[item.src], ids[item.dst]
        if isinstance(item, Arrow):
            arrow = "--)" if item.retransmission else "->>"
            label = item.label + (" (retransmission)" if item.retransmission else "")
            lines.append(f"    {src}{arrow}{dst}: {_clean(label)} {rel}")
            if item.sdp:
                lines.append(f"    Note over {src},{dst}: SDP {_clean(item.sdp)}")
        elif kind == "rtp-start":
            lines.append(f"    {src}-){dst}: {_clean(item.label)} {rel}")
        else:
            lines.append(f"    Note over {src},{dst}: RTP {_clean(item.codec)} {item.ssrc:#010x} ends {rel}")
    return "\n".join(lines) + "\n"
