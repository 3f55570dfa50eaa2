"""Terminal ladder: hosts as columns, one line per message, ANSI colour only on a TTY."""

from __future__ import annotations

from datetime import UTC, datetime

from voxops.analysis.ladder import Arrow, Ladder, Span
from voxops.views.ladder import visible_ladder

_COLOURS = {
    "request": "\033[36m",  # cyan
    "provisional": "\033[33m",  # yellow
    "success": "\033[32m",  # green
    "redirect": "\033[35m",
    "failure": "\033[31m",  # red
    "rtp": "\033[34m",
    "dim": "\033[2m",
}
_RESET = "\033[0m"
TIME_WIDTH = 24


def _paint(text: str, style: str, colour: bool) -> str:
    return f"{_COLOURS[style]}{text}{_RESET}" if colour and text else text


def _width(ladder: Ladder) -> int:
    longest = max((len(a.label) + 8 for a in ladder.arrows), default=16)
    return max(18, min(longest, 30))


def render_text(ladder: Ladder, *, colour: bool = False) -> str:
    ladder = visible_ladder(ladder)  # colour codes are the only escapes printed
    w = _width(ladder)
    n = len(ladder.columns)
    centers = [TIME_WIDTH + w // 2 + i * w for i in range(n)]
    total = TIME_WIDTH + n * w
    lines = []
    head = [" "] * total
    for c, name in zip(centers, ladder.columns, strict=True):
        label = name[: w - 2]
        start = max(0, c - len(label) // 2)
        head[start : start + len(label)] = label
    lines.append("".join(head).rstrip())
    lines.append(_lanes(centers, total, "|").rstrip())
    t0 = ladder.start
    for ts, kind, item in ladder.events():
        stamp = datetime.fromtimestamp(ts, UTC).strftime("%H:%M:%S.%f")[:-3]
        if isinstance(item, Arrow):
            prefix = f"{stamp} +{item.delta_ms:8.1f}ms"
            label = item.label + (" (rtx)" if item.retransmission else "")
            style = "dim" if item.retransmission else item.kind
            lines.append(_row(prefix, centers, total, item.src, item.dst, label, "-", style, colour))
            if item.sdp:
                lines.append(_note(" " * TIME_WIDTH, centers, total, item, "SDP " + item.sdp, "dim", colour))
        else:
            assert isinstance(item, Span)
            prefix = f"{stamp} {ts - t0:+9.3f}s  "
            if kind == "rtp-start":
                lines.append(_row(prefix, centers, total, item.src, item.dst, f"RTP {item.codec}", "=", "rtp", colour))
                note = f"ssrc {item.ssrc:#010x}, {item.packets} packets, {item.end - item.start:.1f} s"
            else:
                note = f"RTP {item.codec} {item.ssrc:#010x} ends"
            lines.append(_note(" " * TIME_WIDTH if kind == "rtp-start" else prefix, centers, total,
                               item, note, "rtp", colour))
    lines.append(_lanes(centers, total, "|").rstrip())
    legs = ", ".join(ladder.call_ids)
    lines.append(f"{len(ladder.arrows)} messages, {len(ladder.spans)} RTP streams; Call-ID {legs}")
    return "\n".join(lines) + "\n"


def _note(prefix: str, centers: list[int], total: int, item: Arrow | Span, note: str,
          style: str, colour: bool) -> str:
    """A line of lanes with a note written from the left end of the item's arrow."""
    lane = _lanes(centers, total, "|")
    at = min(centers[item.src], centers[item.dst]) + 2
    lane = lane[:at] + note + lane[at + len(note) :]
    return prefix[:TIME_WIDTH].ljust(TIME_WIDTH) + _paint(lane[TIME_WIDTH:].rstrip(), style, colour)


def _lanes(centers: list[int], total: int, mark: str) -> str:
    row = [" "] * total
    for c in centers:
        row[c] = mark
    return "".join(row)


def _row(prefix: str, centers: list[int], total: int, src: int, dst: int, label: str,
         line: str, style: str, colour: bool) -> str:
    row = list(_lanes(centers, total, "|"))
    a, b = centers[src], centers[dst]
    if a == b:  # a host talking to itself (two ports on one address)
        text = f"<{line} {label}"
        row[a + 1 : a + 1 + len(text)] = text
        body = "".join(row)
    else:
        lo, hi = min(a, b), max(a, b)
        for x in range(lo + 1, hi):
            row[x] = line
        if b > a:
            row[hi - 1] = ">"
        else:
            row[lo + 1] = "<"
        span = hi - lo - 3
        text = f" {label} " if span >= len(label) + 2 else f" {label[: max(span - 3, 1)]}~ "
        start = lo + 2 + max(0, (span - len(text)) // 2)
        row[start : start + len(text)] = text
        body = "".join(row)
    pad = prefix[:TIME_WIDTH].ljust(TIME_WIDTH)
    return pad + _paint(body[TIME_WIDTH:].rstrip(), style, colour)
