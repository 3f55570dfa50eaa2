"""Choosing a call by its Call-ID or a unique prefix of one: the one rule of every command.

An exact Call-ID wins; otherwise the Call-IDs starting with what was typed must all
belong to one call (its B2BUA legs count as the same call). No match, or matches in
several calls, is an error whose hint points to `voxops calls` and whose details list
the candidates (Call-ID, start, from, to) as inert text.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from voxops.errors import InvalidInput

if TYPE_CHECKING:
    from voxops.analysis.dialogs import Dialog

MAX_CANDIDATES = 10  # listed in an "ambiguous" error; the rest are counted


@dataclass(frozen=True)
class CallRef:
    call_id: str
    start: float
    from_uri: str | None
    to_uri: str | None
    group: str  # the smallest Call-ID of the call's legs: equal for every leg of one call


def refs(dialogs: Iterable[Dialog]) -> list[CallRef]:
    return [CallRef(d.call_id, d.start, d.from_uri, d.to_uri, min([d.call_id, *d.legs])) for d in dialogs]


def list_hint(capture: Path | str) -> str:
    return f"`voxops calls {shlex.quote(str(capture))}` lists the calls and their Call-IDs"


def candidate_lines(hits: Sequence[CallRef]) -> list[str]:
    """Two lines per candidate: its Call-ID, then start (UTC), from and to; every part made visible."""
    from voxops.capture.sip import uri_user
    from voxops.text.fit import elide
    from voxops.text.safe_text import visible
    from voxops.text.times import utc

    def party(uri: str | None) -> str:
        return elide(visible(uri_user(uri) or uri), 16, middle=True) if uri else "-"

    shown = sorted(hits, key=lambda r: (r.start, r.call_id))
    lines = []
    for r in shown[:MAX_CANDIDATES]:  # the Call-ID whole on its own line: it is copied from here
        lines += [f"  {visible(r.call_id)}",
                  f"      start {utc(r.start)}  from {party(r.from_uri)}  to {party(r.to_uri)}"]
    if len(shown) > MAX_CANDIDATES:
        lines.append(f"  ... and {len(shown) - MAX_CANDIDATES} more")
    return lines


def choose(want: str, known: Sequence[CallRef], *, capture: Path | str,
           flag: str = "--call-id") -> list[str]:
    """The Call-IDs `want` names: itself when it is one, else the prefix's matches in one call
    (earliest first). Raises InvalidInput when it names no call or several."""
    if any(r.call_id == want for r in known):
        return [want]
    hits = [r for r in known if r.call_id.startswith(want)] if want else []
    if not hits:
        raise InvalidInput(f"{flag} {want!r} matches no call in {capture}", hint=list_hint(capture))
    if len({r.group for r in hits}) == 1:
        return [r.call_id for r in sorted(hits, key=lambda r: (r.start, r.call_id))]
    calls = len({r.group for r in hits})
    shown = want if len(want) <= 32 else want[:31] + "~"
    raise InvalidInput(f"{flag} {shown!r} matches {calls} calls, give more of one:",
                       hint=list_hint(capture), details=candidate_lines(hits))
