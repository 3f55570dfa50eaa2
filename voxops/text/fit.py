"""Text that fits a terminal: the width to use, elided labels, tables and wrapped prose.

Every text view lays its lines out for `width` columns (the terminal's, 80 when
piped, or `--width`). What does not fit is shortened with an ellipsis, never wrapped
by the terminal; `full=True` (the commands' `--full`) keeps every label whole.
"""

from __future__ import annotations

import os
import re
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

PIPED_WIDTH = 80
MIN_WIDTH = 40
MAX_WIDTH = 1000
LAST_RESORT = 10  # Column.drop from which a column is left out only when nothing else fits


def ellipsis() -> str:
    """One column: `…` where stdout can encode it, else `~`."""
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "\u2026".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return "~"
    return "\u2026"


def terminal_width(requested: int | None = None, *, stream: TextIO | None = None) -> int:
    """`requested` (--width), else the terminal `stream` (stdout) is on, else PIPED_WIDTH."""
    if requested is not None:
        return max(MIN_WIDTH, min(requested, MAX_WIDTH))
    try:
        columns = os.get_terminal_size((stream or sys.stdout).fileno()).columns
    except (OSError, ValueError, AttributeError):
        return PIPED_WIDTH
    return max(MIN_WIDTH, min(columns, MAX_WIDTH)) if columns > 0 else PIPED_WIDTH


def elide(text: str, width: int, *, middle: bool = False) -> str:
    """`text` in at most `width` columns: cut at the end (or in the middle) with an ellipsis."""
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:max(width, 0)]
    mark = ellipsis()
    if middle and width >= 7:
        head = (width - 1 + 1) // 2
        tail = width - 1 - head
        return text[:head] + mark + text[len(text) - tail:]
    return text[: width - 1] + mark


@dataclass(frozen=True)
class Column:
    header: str
    right: bool = False  # numbers: aligned right
    shrink_to: int | None = None  # the narrowest it may be elided to; None: never elided
    drop: int = 0  # >0: left out when the table does not fit, lowest first; LAST_RESORT and up
    # only once the elidable columns are cut below their floor
    middle: bool = False  # elide in the middle (addresses), else at the end (Call-IDs: a prefix)
    weight: float = 1.0  # a heavier column keeps more of its width when columns shrink


@dataclass
class Table:
    lines: list[str]
    dropped: list[str]  # headers of the columns left out
    elided: bool  # a cell was shortened


def fit_table(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int, *,
              full: bool = False, gap: int = 2) -> Table:
    """Rows laid out in `width` columns: widest elidable columns shrink first, then
    optional columns are dropped; `full` keeps every cell whole."""
    natural = [max([len(c.header), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    layout = fit_layout(columns, natural, width, full=full, gap=gap)
    lines = [layout.line([c.header for c in columns]), *(layout.line(row) for row in rows)]
    return Table(lines, layout.dropped, layout.elided)


@dataclass
class Layout:
    """The columns kept, their widths and those left out, for rows whose widest cells are known;
    `line` lays out one row (so rows can be written one at a time)."""

    columns: Sequence[Column]
    keep: list[int]
    widths: list[int]
    dropped: list[str]
    gap: int
    elided: bool = False  # a cell was shortened (so far)

    def line(self, row: Sequence[str]) -> str:
        cells = []
        for i in self.keep:
            cell = row[i]
            if len(cell) > self.widths[i]:
                cell, self.elided = elide(cell, self.widths[i], middle=self.columns[i].middle), True
            cells.append(cell.rjust(self.widths[i]) if self.columns[i].right else cell.ljust(self.widths[i]))
        return (" " * self.gap).join(cells).rstrip()


def fit_layout(columns: Sequence[Column], natural: list[int], width: int, *, full: bool = False,
               gap: int = 2) -> Layout:
    """The layout of `fit_table` for cells at most `natural` wide (headers included)."""
    keep = list(range(len(columns)))
    dropped: list[str] = []
    widths = list(natural)
    optional = sorted((i for i, c in enumerate(columns) if c.drop > 0), key=lambda i: columns[i].drop)
    while not full:
        widths = list(natural)  # each try starts whole: a column left out gives its room back
        room = width - gap * (len(keep) - 1)
        if _shrink(columns, widths, keep, room):
            break
        last_resort = not optional or columns[optional[0]].drop >= LAST_RESORT
        if last_resort and _shrink(columns, widths, keep, room, hard=True) or not optional:
            break  # (a table that cannot fit at all stays as narrow as it can get)
        gone = optional.pop(0)
        keep.remove(gone)
        dropped.append(columns[gone].header)
    return Layout(columns, keep, widths, dropped, gap)


def _shrink(columns: Sequence[Column], widths: list[int], keep: list[int], room: int, *,
            hard: bool = False) -> bool:
    """Narrow the elidable columns, widest (by weight) first, until `keep` fits in `room`;
    each no narrower than its `shrink_to` (`hard`: its header, at least 4)."""
    def floor(i: int) -> int:
        return max(4, len(columns[i].header)) if hard else max(columns[i].shrink_to or 0, len(columns[i].header))

    excess = sum(widths[i] for i in keep) - room
    while excess > 0:
        flexible = [i for i in keep if columns[i].shrink_to is not None and widths[i] > floor(i)]
        if not flexible:
            return False
        widths[max(flexible, key=lambda i: widths[i] / columns[i].weight)] -= 1
        excess -= 1
    return True


def fit_line(line: str, width: int, *, full: bool = False, indent: int = 4) -> list[str]:
    """A line of prose in `width` columns: wrapped at spaces under a hanging indent; a word
    longer than a line (a Call-ID, a URI) is elided. `full`: the line as it is."""
    if full or len(line) <= width:
        return [line]
    lead = len(line) - len(line.lstrip(" "))
    hang = " " * min(lead + indent, width // 2)
    room = width - len(hang)
    text = re.sub(rf"\S{{{room + 1},}}", lambda m: elide(m.group(), room), line.strip(" "))
    return textwrap.wrap(text, width, initial_indent=" " * lead, subsequent_indent=hang,
                         break_long_words=False, break_on_hyphens=False) or [""]


def fit_lines(lines: Sequence[str], width: int, *, full: bool = False) -> list[str]:
    out: list[str] = []
    for line in lines:
        out += fit_line(line, width, full=full)
    return out
