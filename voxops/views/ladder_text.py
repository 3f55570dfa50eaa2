"""Terminal ladder: hosts as lanes, one line per message, laid out for the terminal's width.

Lanes share the width left of the time column, so they narrow as hosts are added;
labels, host names and notes that do not fit are elided (`full`: lanes widen to the
longest label instead and nothing is cut). ANSI colour only on a TTY. Times follow
`TimeMode` with the convention stated on the first line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voxops.analysis.ladder import Arrow, Ladder, Span
from voxops.text.fit import PIPED_WIDTH, elide, fit_line
from voxops.text.times import Stamps, TimeMode
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
LANE_MIN = 6  # below this a lane has no room for a label: the ladder grows wider than asked
LANE_MAX = 40
RTX = " (rtx)"
_CLOCK_RATE = re.compile(r"(?<=[A-Za-z0-9])/\d+(?:/\d+)?(?=[ ,]|$)")


def _paint(text: str, style: str, colour: bool) -> str:
    return f"{_COLOURS[style]}{text}{_RESET}" if colour and text else text


@dataclass
class _Layout:
    gutter: int  # time column plus one space
    lane: int
    centers: list[int]
    width: int  # the line length never exceeded (unless full)
    full: bool
    colour: bool
    elided: bool = False

    def fit(self, text: str, room: int, *, middle: bool = False) -> str:
        if self.full or len(text) <= room:
            return text
        self.elided = True
        return elide(text, room, middle=middle)

    def lanes(self) -> list[str]:
        row = [" "] * (max(self.centers) + 1)
        for c in self.centers:
            row[c] = "|"
        return row

    def emit(self, stamp: str, row: list[str], style: str) -> str:
        body = "".join(row)[self.gutter:].rstrip()
        if not self.full:
            body = body[: self.width - self.gutter]
        return stamp.ljust(self.gutter) + _paint(body, style, self.colour)


def _layout(ladder: Ladder, gutter: int, width: int, full: bool, colour: bool) -> _Layout:
    n = max(len(ladder.columns), 1)
    lane = max(LANE_MIN, min((width - gutter) // n, LANE_MAX))
    if full:  # wide enough for every label between neighbours
        longest = max((len(a.label) + len(RTX) + 6 for a in ladder.arrows), default=LANE_MIN)
        lane = max(lane, longest)
    centers = [gutter + lane // 2 + i * lane for i in range(n)]
    return _Layout(gutter, lane, centers, max(width, centers[-1] + 1), full, colour)


def _header(lay: _Layout, names: list[str]) -> list[str]:
    """Host names centred on their lanes; on two staggered rows when one is too long for its
    lane, each name then owning the two lanes' width around its centre."""
    stagger = len(names) > 1 and any(len(n) > lay.lane - 1 for n in names)
    rows = [[" "] * lay.width for _ in range(2 if stagger else 1)]
    half = lay.lane - 1 if stagger else (lay.lane - 1) // 2
    for i, (c, name) in enumerate(zip(lay.centers, names, strict=True)):
        lo, hi = max(0, c - half), min(lay.width, c + half + 1)  # the name's own columns
        label = lay.fit(name, hi - lo, middle=True)
        start = min(max(lo, c - len(label) // 2), hi - len(label))
        rows[i % 2 if stagger else 0][start : start + len(label)] = label
    return ["".join(r).rstrip() for r in rows]


def _arrow_row(lay: _Layout, src: int, dst: int, label: str, line: str, keep_suffix: str = "") -> list[str]:
    row = lay.lanes()
    a, b = lay.centers[src], lay.centers[dst]
    if a == b:  # a host talking to itself (two ports on one address)
        room = (lay.lane - 2 if src + 1 < len(lay.centers) else lay.width - a - 1) - 3
        text = f"<{line} " + _label(lay, label, keep_suffix, max(room, 1))
        row += [" "] * max(0, a + 1 + len(text) - len(row))
        row[a + 1 : a + 1 + len(text)] = text
        return row
    lo, hi = min(a, b), max(a, b)
    for x in range(lo + 1, hi):
        row[x] = line
    row[hi - 1 if b > a else lo + 1] = ">" if b > a else "<"
    interior = hi - lo - 1
    if interior >= 8:  # " label " between a line character and the head
        text = f" {_label(lay, label, keep_suffix, interior - 4)} "
        start = lo + 1 + max(1, (interior - len(text)) // 2)
    else:  # a narrow lane: the label fills all but the head
        text = _label(lay, label, keep_suffix, interior - 1)
        start = lo + 1 + (b < a)
    row[start : start + len(text)] = text
    return row


def _label(lay: _Layout, label: str, suffix: str, room: int) -> str:
    """`label + suffix` in `room` columns, the suffix (" (rtx)") kept whole while there is room."""
    if suffix and len(suffix) + 2 <= room:
        return lay.fit(label, room - len(suffix)) + suffix
    return lay.fit(label + suffix, room)


def _note(lay: _Layout, stamp: str, lo_center: int, note: str, style: str) -> str:
    """A lane line with `note` written from just right of the item's left end (moved left to fit)."""
    row = lay.lanes()
    room = lay.width - lay.gutter - 1
    note = lay.fit(note, room, middle=True)
    at = lo_center + 2 if lay.full else min(lo_center + 2, max(lay.gutter + 1, lay.width - len(note)))
    row += [" "] * max(0, at + len(note) - len(row))
    row[at : at + len(note)] = note
    return lay.emit(stamp, row, style)


def _sdp_summary(sdp: str, full: bool) -> str:
    """`audio 10.0.0.1:4000 PCMU,DTMF sendrecv`: clock rates dropped, RFC 4733 events as DTMF."""
    if full:
        return "SDP " + sdp
    return "SDP " + _CLOCK_RATE.sub("", sdp).replace("telephone-event", "DTMF")


def render_text(ladder: Ladder, *, colour: bool = False, width: int = PIPED_WIDTH, full: bool = False,
                time: TimeMode = TimeMode.rel) -> str:
    ladder = visible_ladder(ladder)  # colour codes are the only escapes printed
    stamps = Stamps(time, ladder.start)
    events = ladder.events()
    stamp_of = [stamps(ts) for ts, _, _ in events]
    gutter = max((len(s) for s in stamp_of), default=8) + 1
    lay = _layout(ladder, gutter, width, full, colour)
    lines = fit_line(stamps.header("the call's first message"), lay.width, full=full)
    lines += _header(lay, ladder.columns)
    lines.append(lay.emit("", lay.lanes(), "dim"))
    for (_, kind, item), stamp in zip(events, stamp_of, strict=True):
        lines += _event_lines(lay, stamp, kind, item)
    lines.append(lay.emit("", lay.lanes(), "dim"))
    lines.append(f"{len(ladder.arrows)} messages, {len(ladder.spans)} RTP streams")
    for call_id in ladder.call_ids:
        lines.append("Call-ID " + lay.fit(call_id, lay.width - len("Call-ID ")))
    if lay.elided:
        lines += fit_line(f"(shortened to fit {lay.width} columns: --full shows every label whole)",
                          lay.width)
    return "\n".join(lines) + "\n"


def _event_lines(lay: _Layout, stamp: str, kind: str, item: Arrow | Span) -> list[str]:
    if isinstance(item, Arrow):
        rtx = RTX if item.retransmission else ""
        style = "dim" if item.retransmission else item.kind
        out = [lay.emit(stamp, _arrow_row(lay, item.src, item.dst, item.label, "-", rtx), style)]
        if item.sdp and not item.retransmission:  # a retransmission repeats the same offer
            lo = min(lay.centers[item.src], lay.centers[item.dst])
            out.append(_note(lay, "", lo, _sdp_summary(item.sdp, lay.full), "dim"))
        return out
    lo = min(lay.centers[item.src], lay.centers[item.dst])
    if kind == "rtp-start":
        note = f"ssrc {item.ssrc:#010x}, {item.packets} packets, {item.end - item.start:.1f} s"
        return [lay.emit(stamp, _arrow_row(lay, item.src, item.dst, f"RTP {item.codec}", "="), "rtp"),
                _note(lay, "", lo, note, "rtp")]
    return [_note(lay, stamp, lo, f"RTP {item.codec} {item.ssrc:#010x} ends", "rtp")]
