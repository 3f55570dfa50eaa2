"""Media findings of one hop of a call: RTP present both ways, late, stopped, lost, jittery, low MOS."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voxops.analysis import faults as F

if TYPE_CHECKING:
    from voxops.analysis.diagnosis import SdpView
    from voxops.analysis.dialogs import Dialog
    from voxops.analysis.media_continuity import Feeds
    from voxops.analysis.policy import Policy
    from voxops.analysis.streams import RtpStream
    from voxops.findings import Finding


def rtp_findings(d: Dialog, fwd: list[RtpStream], rev: list[RtpStream], answer: SdpView | None,
                  out: list[Finding], policy: Policy, fax: bool = False, *, offer: SdpView | None = None,
                  fed: Feeds = (None, None)) -> None:
    """`fed`: the streams a relay forwards as this hop's (offerer->answerer,
    answerer->offerer) audio (`feeding_streams`): a direction missing here, or loss it
    already had, is judged where it starts."""
    if d.answered_at is None:
        return
    shared = [s for s in fwd + rev if s.claimed_by]
    if shared:  # another live call claims the same 5-tuple: whose media it is cannot be told
        out.append(F.AMBIGUOUS_MEDIA(
            f"{len(shared)} stream(s) also claimed by call(s) {', '.join(sorted({c for s in shared for c in s.claimed_by}))}"
            f" up at the same time on the same ports ({shared[0].src} -> {shared[0].dst}): "
            "media direction checks skipped", where=f"frame {shared[0].first_frame}",
            streams=[f"{s.src} -> {s.dst}" for s in shared]))
    if answer is not None and answer.srtp and not (fwd or rev):
        return
    held = answer is not None and answer.direction != "sendrecv"
    talk = d.duration_s if d.duration_s is not None else None
    if not fwd and not rev:
        if not held and not shared:
            out.append(F.NO_MEDIA("answered call carried no RTP in either direction", where=f"call {d.call_id}"))
        return
    if (not fwd or not rev) and not held and not shared and fed[0 if not fwd else 1] is None:
        present, absent = ("offerer->answerer", "answerer->offerer") if fwd else ("answerer->offerer", "offerer->answerer")
        have = fwd or rev
        silent = _silent_node(answer if fwd else offer, policy)
        out.append(F.ONE_WAY_AUDIO(
            f"RTP only {present} ({sum(s.packets for s in have)} packets); nothing {absent}"
            + (f": {silent} sends no audio" if silent else ""),
            where=f"frame {have[0].first_frame}", present=present, absent=absent,
            streams=[f"{s.src} -> {s.dst}" for s in have], node=silent))
    for s in fwd + rev:
        label = f"{s.src} -> {s.dst}"
        late = s.start - d.answered_at
        if late > policy.late_media_s:
            out.append(F.LATE_MEDIA(f"first RTP {label} {late:.1f} s after the 200 OK", where=f"frame {s.first_frame}",
                                    delay_s=round(late, 3)))
        if d.ended_at is not None:
            if d.ended_at - s.end > policy.media_gap_s and (talk or 0) > policy.media_gap_s and not fax:
                out.append(F.MEDIA_STOPPED(f"RTP {label} stopped {d.ended_at - s.end:.1f} s before the BYE",
                                           where=f"frame {s.last_frame}", last_frame=s.last_frame))
            if s.end - d.ended_at > 1.0:
                out.append(F.RTP_AFTER_BYE(f"RTP {label} continued {s.end - d.ended_at:.1f} s after the BYE",
                                           where=f"frame {s.last_frame}"))
        source = fed[0] if any(x is s for x in fwd) else fed[1]
        if s.lost_pct > policy.loss_max_percent and not _inherited_loss(s, source, policy):
            hop = _hop_of(s, policy)
            out.append(F.PACKET_LOSS(f"{s.lost_pct:.1f} % loss on {label} ({hop}; {s.lost} of {s.expected})",
                                     where=f"frame {s.first_frame}", lost=s.lost, expected=s.expected,
                                     lost_pct=s.lost_pct, seq_errors=s.seq_errors, hop=hop))
        if s.max_jitter_ms > policy.jitter_max_ms:
            out.append(F.HIGH_JITTER(f"max jitter {s.max_jitter_ms:.1f} ms on {label}", where=f"frame {s.first_frame}",
                                     max_jitter_ms=s.max_jitter_ms, mean_jitter_ms=s.mean_jitter_ms))
        if s.mos is not None and s.mos < policy.mos_min:
            out.append(F.LOW_MOS(f"MOS {s.mos} (R {s.r_factor}) on {label}", where=f"frame {s.first_frame}",
                                 mos=s.mos, r_factor=s.r_factor, method=s.mos_method))


def _silent_node(side: SdpView | None, policy: Policy) -> str | None:
    """The node that should have sent the missing direction: spec name, else address:port."""
    from voxops.analysis.hops import node_name

    if side is None or side.address is None:
        return None
    return node_name(side.address, side.port, policy)


def _inherited_loss(s: RtpStream, source: list[RtpStream] | None, policy: Policy) -> bool:
    """A relay forwarding audio that was already lossy upstream adds no loss of its own
    (within the SLO): the loss is reported on the upstream leg, where it appears."""
    upstream = max((u.lost_pct for u in source or []), default=0.0)
    return upstream > policy.loss_max_percent and s.lost_pct - upstream <= policy.loss_max_percent


def _hop_of(s: RtpStream, policy: Policy) -> str:
    from voxops.analysis.hops import node_name

    return " -> ".join(node_name(end.rsplit(":", 1)[0], None, policy) for end in (s.src, s.dst))
