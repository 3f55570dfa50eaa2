"""Mermaid `sequenceDiagram`: pastes into GitHub, GitLab and most incident tools."""

from __future__ import annotations

import re

from voxops.analysis.ladder import Arrow, Ladder

_UNSAFE = re.compile(r"[;#<>{}\"`]")


def _clean(text: str) -> str:
    # ';' ends a statement and '#' starts an entity in Mermaid: keep labels inert.
    return _UNSAFE.sub(" ", text).strip()


def render_mermaid(ladder: Ladder) -> str:
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
