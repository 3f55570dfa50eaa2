"""Which call a stream belongs to: by the SDP of each hop *and* by time.

An SDP m= line claims its address:port for its call from the message that announced it
(less `EARLY_S`: the far end's RTP can reach the capture point just before the answer)
until the call's end: its BYE plus `GRACE_S`; for a call that was never answered, its
last message; for an answered call without a BYE in the capture, the end of the capture.
A port announced again later by another call belongs to that call from then on.

A stream is claimed by the calls that claim its source or its destination at its first
packet; when calls claim both its ends, only those count (the exact 5-tuple). When two
live calls still claim it, it is ambiguous: it keeps the call the SDP scan chose, lists
the others in `claimed_by`, and no call may conclude "no media" or "one-way" from it.
A stream no live call claims belongs to no call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from voxops.analysis.dialogs import sdp_media

if TYPE_CHECKING:
    from collections.abc import Sequence

    from voxops.analysis.dialogs import Dialog
    from voxops.analysis.streams import RtpStream

GRACE_S = 2.0
EARLY_S = 0.2
OPEN = float("inf")


@dataclass(frozen=True, slots=True)
class Claim:
    call_id: str  # the call (the first of its correlated legs)
    since: float
    end: float  # the call's end (BYE; last message when never answered; OPEN)
    until: float  # end plus the grace


def call_key(d: Dialog) -> str:
    return min([d.call_id, *d.legs])


def call_end(d: Dialog) -> tuple[float, float]:
    """Until when the dialog carries media, before and after the grace."""
    if d.ended_at is not None:
        return d.ended_at, d.ended_at + GRACE_S
    if d.answered_at is not None:
        return OPEN, OPEN
    return d.end, d.end


def media_claims(dialogs: Sequence[Dialog]) -> dict[tuple[str, int], list[Claim]]:
    """address:port -> the calls claiming it, each with its time window (ordered by start)."""
    by_id = {d.call_id: d for d in dialogs if d.legs}
    out: dict[tuple[str, int], list[Claim]] = {}
    for d in dialogs:
        key = call_key(d)
        end, until = max([call_end(d), *(call_end(by_id[c]) for c in d.legs if c in by_id)])
        claimed: set[tuple[str, int]] = set()  # a dialog's first SDP for an address starts its claim
        for pkt in d.messages:
            sdp = pkt.msg.sdp
            for m in sdp.media if sdp is not None else ():
                if m.port and m.connection and (m.connection, m.port) not in claimed:
                    claimed.add((m.connection, m.port))
                    out.setdefault((m.connection, m.port), []).append(Claim(key, pkt.ts - EARLY_S, end, until))
    for claims in out.values():
        claims.sort(key=lambda c: c.since)
    return out


def _split(endpoint: str) -> tuple[str, int]:
    addr, _, port = endpoint.rpartition(":")
    return addr.strip("[]"), int(port)


def live_claims(claims: list[Claim], at: float) -> list[Claim]:
    """The claims live at `at`: calls up at that time; calls in their grace after the
    BYE only when no call is up (a port reused later belongs to the later call)."""
    up = [c for c in claims if c.since <= at <= c.end]
    return up or [c for c in claims if c.since <= at <= c.until]


def claimants(claims: dict[tuple[str, int], list[Claim]], src: str, dst: str, at: float) -> list[str]:
    """The calls that claim a stream src -> dst first seen at `at`."""
    a = {c.call_id for c in live_claims(claims.get(_split(src), []), at)}
    b = {c.call_id for c in live_claims(claims.get(_split(dst), []), at)}
    return sorted((a & b) or (a | b))


def attribute(streams: list[RtpStream], dialogs: Sequence[Dialog]) -> list[RtpStream]:
    """The streams with `call_id` and `claimed_by` set by SDP and time."""
    claims = media_claims(dialogs)
    keys = {d.call_id: call_key(d) for d in dialogs}
    out = []
    for s in streams:
        calls = claimants(claims, s.src, s.dst, s.start)
        chosen = s.call_id if s.call_id is not None and keys.get(s.call_id) in calls else (calls[0] if calls else None)
        others = [c for c in calls if c != keys.get(chosen or "", chosen)]
        if chosen != s.call_id or others != s.claimed_by:
            s = s.model_copy(update={"call_id": chosen, "claimed_by": others})
        out.append(s)
    return out


def call_media_windows(dialogs: Sequence[Dialog]) -> list[tuple[str, int, float, float]]:
    """(address, port, since, until) of the media of one call's dialogs; none when its
    offer/answer never completed (SDP only in requests, or only in responses)."""
    seen = {pkt.msg.is_request for _, pkt, _ in sdp_media(dialogs)}
    if seen != {True, False}:
        return []
    return [(addr, port, c.since, c.until) for (addr, port), cs in media_claims(dialogs).items() for c in cs]


def other_media(dialogs: Sequence[Dialog]) -> tuple[set[str], bool]:
    """'address:port' of the dialogs' non-audio m= lines (video, image, application: their
    own media sections, never judged against the audio line), and whether the call
    switched to fax (an m=image line with a port: T.38)."""
    ends: set[str] = set()
    audio: set[str] = set()
    fax = False
    for _, _, m in sdp_media(dialogs):
        if m.port and m.connection:
            (audio if m.kind == "audio" else ends).add(f"{m.connection}:{m.port}")
            fax = fax or m.kind == "image"
    return ends - audio, fax  # a T.38 re-INVITE often keeps the audio port
