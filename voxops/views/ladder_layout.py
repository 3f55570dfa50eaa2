"""What the picture ladders (PNG, SVG, HTML, Mermaid) draw, row by row.

One row per SIP message with its retransmissions folded in ("INVITE x4"), the SDP
summary once per transaction on a row of its own, one thin lane row per media
direction with its figures, and a note row where a hop failed. Rows are in time order;
times are call-relative (`t+0.000 s` from the first message or packet).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from voxops.analysis.ladder import Arrow, Ladder, Span

# a lane is drawn as trouble at these (the defaults of the stats SLOs and the diagnosis)
LANE_LOSS_PCT = 1.0
LANE_JITTER_MS = 30.0
LANE_MOS = 3.5
NOTE_CHARS = 90  # an SDP summary longer than this is cut (the message pane has all of it)
ONE_WAY_SDP = ("sendonly", "recvonly", "inactive")
TIMER_T1_S = 0.5  # RFC 3261: a hop unanswered for less than T1 has not failed yet
HOP_FAILURES = (408,)  # plus every 5xx: the next hop did not, or could not, take the call
_CSEQ = re.compile(r"^CSeq:[ \t]*(\d+)[ \t]+(\S+)", re.M | re.I)


@dataclass(slots=True)
class Message:
    row: int
    arrow: Arrow  # the first copy
    copies: list[Arrow] = field(default_factory=list)  # every copy, the first included

    @property
    def label(self) -> str:
        return self.arrow.label + (f" x{len(self.copies)}" if len(self.copies) > 1 else "")


@dataclass(slots=True)
class Note:
    row: int
    src: int
    dst: int
    text: str
    kind: str  # "sdp" | "failover"


@dataclass(slots=True)
class Lane:
    row: int
    end_row: int
    src: int
    dst: int
    span: Span | None  # None: the reverse direction of a stream, never seen
    hop: str = ""  # "carrier-a \u2192 agent-1"

    @property
    def trouble(self) -> bool:
        s = self.span
        if s is None:
            return True
        loss = 100.0 * (s.lost or 0) / max((s.lost or 0) + s.packets, 1)
        return loss > LANE_LOSS_PCT or (s.jitter_ms or 0.0) > LANE_JITTER_MS or (s.mos or 5.0) < LANE_MOS

    @property
    def text(self) -> str:
        s = self.span
        if s is None:
            return f"no RTP seen {self.hop}".rstrip()
        return f"RTP {s.codec} \u00b7 {s.packets} pkts \u00b7 {self.figures}"

    @property
    def figures(self) -> str:
        """"loss 0.0% \u00b7 jitter 0.4 ms \u00b7 MOS 4.41" ('' for a direction never seen)."""
        s = self.span
        if s is None:
            return ""
        loss = 100.0 * (s.lost or 0) / max((s.lost or 0) + s.packets, 1)
        parts = [f"loss {loss:.1f}%", "jitter n/a" if s.jitter_ms is None else f"jitter {s.jitter_ms:.1f} ms"]
        if s.mos is not None:
            parts.append(f"MOS {s.mos:.2f}")
        return " \u00b7 ".join(parts)


@dataclass(frozen=True, slots=True)
class Failover:
    """A hop that did not take the call: `src` sent an INVITE to `failed`, which answered
    `reason` (or nothing); `next_host` is where `src` tried next (None: nowhere)."""

    src: int
    failed: int
    next_host: int | None
    reason: str
    first_arrow: int  # Arrow.index of the INVITE to the failed hop
    last_arrow: int  # Arrow.index after which the failure is known (final, CANCEL or last copy)


@dataclass(slots=True)
class Picture:
    columns: list[str]
    t0: float
    call_ids: list[str]
    messages: list[Message] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    lanes: list[Lane] = field(default_factory=list)
    failovers: list[Failover] = field(default_factory=list)
    rows: int = 0

    def rel(self, ts: float) -> str:
        return f"t+{ts - self.t0:.3f} s"

    def span_time(self, start: float, end: float) -> str:
        return f"t+{start - self.t0:.3f}\u2013{end - self.t0:.3f} s"

    def when(self, m: Message) -> str:
        """A message's time; a folded one from its first to its last copy."""
        return self.rel(m.arrow.ts) if len(m.copies) == 1 else self.span_time(m.arrow.ts, m.copies[-1].ts)

    def failover_rows(self, f: Failover) -> tuple[int, int]:
        """First and last row of the failed hop's attempt (for its highlight band)."""
        first = next(m.row for m in self.messages if any(a.index == f.first_arrow for a in m.copies))
        note = next((n.row for n in self.notes if n.kind == "failover" and n.dst == f.failed
                     and n.src == f.src and n.row >= first), first)
        return first, note


def cseq(arrow: Arrow) -> tuple[int, str] | None:
    m = _CSEQ.search(arrow.text)
    return (int(m.group(1)), m.group(2).upper()) if m else None


def _status(arrow: Arrow) -> int | None:
    first = arrow.label.split(" ", 1)[0]
    return int(first) if first.isascii() and first.isdigit() else None


def failovers_from_arrows(ladder: Ladder) -> list[Failover]:
    """Failed hops read from the messages: an INVITE answered 408/5xx, cancelled, or not
    answered at all, and the next INVITE the same host sent to another host."""
    out = []
    arrows = ladder.arrows
    for a in arrows:
        if a.retransmission or not a.label.startswith("INVITE") or a.src == a.dst:
            continue
        key = cseq(a)
        later = [b for b in arrows if b.index > a.index and b.call_id == a.call_id]
        same_tx = [b for b in later if cseq(b) == key or (b.label.startswith("CANCEL") and key
                                                            and cseq(b) == (key[0], "CANCEL"))]
        final = next((b for b in same_tx if b.src == a.dst and b.dst == a.src
                      and (_status(b) or 0) >= 200), None)
        cancel = next((b for b in same_tx if b.src == a.src and b.dst == a.dst
                       and b.label.startswith("CANCEL")), None)
        code = _status(final) if final is not None else None
        retry = next((b for b in later if b.label.startswith("INVITE") and not b.retransmission
                      and b.src == a.src and b.dst not in (a.dst, a.src)), None)
        if final is not None and code is not None and (code in HOP_FAILURES or 500 <= code < 600):
            reason, last = final.label, final.index
        elif cancel is not None and retry is not None and retry.index > cancel.index and code in (None, 487):
            reason, last = "cancelled", cancel.index
        elif final is None and cancel is None:
            copies = [b for b in later if b.retransmission and b.src == a.src and b.dst == a.dst
                      and cseq(b) == key]
            if not copies and (retry is None or retry.ts - a.ts < TIMER_T1_S):
                continue  # a capture that ends early, or parallel forking: not a silent hop
            reason, last = f"no answer to {1 + len(copies)} INVITEs", (copies or [a])[-1].index
        else:
            continue
        out.append(Failover(src=a.src, failed=a.dst, next_host=retry.dst if retry else None,
                            reason=reason, first_arrow=a.index, last_arrow=last))
    # a proxy passing its own failed hop's 408/5xx upstream is not a second failed hop
    return [f for f in out if not any(g.src == f.failed and g.first_arrow > f.first_arrow for g in out)]


def failover_text(f: Failover, columns: list[str]) -> str:
    text = f"\u2717 hop {columns[f.src]} \u2192 {columns[f.failed]} failed: {f.reason}"
    if f.next_host is not None:
        text += f"; failover to {columns[f.next_host]}"
    return text


def _fold_target(messages: list[Message], a: Arrow) -> Message | None:
    """The message a retransmission is a copy of: same hop, label, Call-ID and CSeq."""
    for m in reversed(messages[-50:]):
        b = m.arrow
        if (b.src, b.dst, b.label, b.call_id) == (a.src, a.dst, a.label, a.call_id) and cseq(b) == cseq(a):
            return m
    return None


def layout(ladder: Ladder, failovers: list[Failover] | None = None) -> Picture:
    """The rows of the picture; `failovers` default to what the messages show."""
    found = failovers_from_arrows(ladder) if failovers is None else failovers
    pic = Picture(columns=list(ladder.columns), t0=ladder.start, call_ids=list(ladder.call_ids),
                  failovers=found)
    after = {f.last_arrow: f for f in found}
    sdp_seen: set[tuple[str, tuple[int, str] | None, int, int, str]] = set()
    reverse = {(s.src, s.dst) for s in ladder.spans}
    # media one way by design (hold, announcements) is not missing media
    one_way_sdp = any(w in a.sdp for a in ladder.arrows if a.sdp for w in ONE_WAY_SDP)
    open_lanes: dict[int, list[Lane]] = {}
    row = 0
    for _ts, kind, item in ladder.events():
        if isinstance(item, Arrow):
            target = _fold_target(pic.messages, item) if item.retransmission else None
            if target is not None:
                target.copies.append(item)
            else:
                pic.messages.append(Message(row, item, [item]))
                row += 1
                hop = (min(item.src, item.dst), max(item.src, item.dst))
                key = (item.call_id, cseq(item), *hop, item.sdp or "")
                if item.sdp and key not in sdp_seen:
                    sdp_seen.add(key)
                    pic.notes.append(Note(row, item.src, item.dst, _short("SDP " + item.sdp), "sdp"))
                    row += 1
            if item.index in after:
                f = after[item.index]
                pic.notes.append(Note(row, f.src, f.failed, failover_text(f, pic.columns), "failover"))
                row += 1
        elif kind == "rtp-start":
            lanes = [Lane(row, row, item.src, item.dst, item, _hop(pic, item.src, item.dst))]
            if (item.dst, item.src) not in reverse and not one_way_sdp:
                lanes.append(Lane(row + 1, row + 1, item.dst, item.src, None, _hop(pic, item.dst, item.src)))
            pic.lanes += lanes
            open_lanes[id(item)] = lanes
            row += len(lanes)
        else:
            for lane in open_lanes.pop(id(item), []):
                lane.end_row = max(lane.row, row - 1)
    pic.rows = row
    return pic


def _hop(pic: Picture, src: int, dst: int) -> str:
    return f"{pic.columns[src]} \u2192 {pic.columns[dst]}"


def _short(text: str, room: int = NOTE_CHARS) -> str:
    return text if len(text) <= room else text[: room - 1] + "\u2026"
