"""One time convention for the text views, stated in a header line.

`rel` (the default): seconds since the first event shown, `t+1.210`; `abs`: the UTC
clock, `22:13:21.210`; `delta`: seconds since the previous row, `+0.010`. A column
holds one unit; the header says which, and when `t+0` is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum


class TimeMode(StrEnum):
    rel = "rel"
    abs = "abs"
    delta = "delta"


def utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


class Stamps:
    """Formats timestamps in one mode; `origin` is t+0 (rel) and the first delta's base."""

    def __init__(self, mode: TimeMode, origin: float) -> None:
        self.mode = TimeMode(mode)
        self.origin = origin
        self.previous = origin

    def __call__(self, ts: float) -> str:
        if self.mode is TimeMode.abs:
            return datetime.fromtimestamp(ts, UTC).strftime("%H:%M:%S.%f")[:-3]
        if self.mode is TimeMode.delta:
            text, self.previous = f"+{ts - self.previous:.3f}", ts
            return text
        return f"t+{ts - self.origin:.3f}"

    def header(self, origin_is: str) -> str:
        """What the time column means, e.g. `time: t+ seconds since 2023-11-14 22:13:20.000 UTC
        (the call's first message)`."""
        if self.mode is TimeMode.abs:
            return f"time: UTC clock, {utc(self.origin)[:10]}"
        if self.mode is TimeMode.delta:
            return f"time: + seconds since the row before, from {utc(self.origin)} UTC"
        return f"time: t+ seconds since {utc(self.origin)} UTC" + (f" ({origin_is})" if origin_is else "")
