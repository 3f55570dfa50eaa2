"""Per-call diagnosis: setup, SDP offer/answer against the RTP seen, media health, verdict.

Pure: takes the call's dialogs (and correlated legs), the RTP streams of the capture
and a Policy; returns a CallDiagnosis whose findings carry stable codes and runbooks.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from voxops.analysis import faults as F
from voxops.analysis.hops import CallPath, call_path
from voxops.analysis.media_attribution import other_media
from voxops.analysis.media_continuity import feeding_streams, relay_findings
from voxops.analysis.negotiation import hop_negotiations
from voxops.analysis.path_findings import busy_finding, failover_findings
from voxops.analysis.policy import Policy
from voxops.analysis.rtp_findings import rtp_findings
from voxops.analysis.streams import RtpStream
from voxops.findings import Finding, Severity, worst

if TYPE_CHECKING:
    from voxops.analysis.dialogs import Dialog
    from voxops.analysis.media_continuity import Feeds
    from voxops.capture.records import SipPacket
    from voxops.capture.sdp import Sdp, SdpMedia

STATUS_MEANING = {
    200: "answered",
    401: "authentication required (challenge)",
    403: "forbidden: credentials or ACL refused",
    404: "number or user not found",
    407: "proxy authentication required (challenge)",
    408: "request timeout: no answer from the next hop",
    480: "temporarily unavailable",
    486: "busy here",
    487: "request terminated (caller cancelled)",
    488: "not acceptable here: no common codec or SDP refused",
    500: "server internal error",
    502: "bad gateway",
    503: "service unavailable: overloaded, down or out of capacity",
    504: "server timeout",
    600: "busy everywhere",
    603: "declined",
    606: "not acceptable: no common codec",
}
USER_CAUSED = {480, 486, 487, 600, 603}
PRIVATE_NETS = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                                   "100.64.0.0/10", "fc00::/7")]
NON_AUDIO_PTS = {13, 19}  # comfort noise


class Hop(BaseModel):
    model_config = ConfigDict(extra="forbid")
    frame: int
    time: float = Field(description="seconds since the call's first message")
    src: str
    dst: str
    message: str
    retransmission: bool


class SdpView(BaseModel):
    model_config = ConfigDict(extra="forbid")
    frame: int
    sender: str
    address: str | None
    port: int
    codecs: list[str]
    payload_types: list[int]
    direction: str
    ptime: float | None
    srtp: bool


class Codecs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    offer: SdpView | None
    answer: SdpView | None
    negotiated: str | None = Field(description="first codec of the answer")
    seen_forward: list[int] = Field(description="payload types RTP carried from the offerer")
    seen_reverse: list[int] = Field(description="payload types RTP carried from the answerer")


class CallDiagnosis(BaseModel):
    """JSON of `voxops diagnose`; field names are a public interface."""

    model_config = ConfigDict(extra="forbid")
    call_id: str
    legs: list[str]
    from_uri: str | None
    to_uri: str | None
    trunk: str | None
    start: float
    pdd_ms: float | None
    final_status: int | None
    final_meaning: str | None
    answered_at: float | None
    ended_at: float | None
    duration_s: float | None
    auth_challenges: int
    retransmissions: int
    answered_by: dict[str, list[str]] = Field(description="responses to the INVITE(s), by the hop that sent them")
    hops: list[Hop]
    path: CallPath | None = Field(default=None, description="the call's hops, attempts and failovers")
    codecs: Codecs
    streams: list[RtpStream]
    findings: list[Finding]
    verdict: str


def _hop_name(pkt: SipPacket, policy: Policy, src: bool) -> str:
    addr, port = (pkt.src, pkt.sport) if src else (pkt.dst, pkt.dport)
    name = policy.names.get(addr)
    return f"{addr}:{port}" + (f" ({name})" if name else "")


def _sdp_view(pkt: SipPacket, sdp: Sdp) -> tuple[SdpView, SdpMedia] | None:
    audio = next((m for m in sdp.media if m.kind == "audio"), None)
    if audio is None:
        return None
    view = SdpView(
        frame=pkt.frame,
        sender=f"{pkt.src}:{pkt.sport}",
        address=audio.connection,
        port=audio.port,
        codecs=audio.codecs(),
        payload_types=list(audio.payload_types),
        direction=audio.direction,
        ptime=audio.ptime,
        srtp="SAVP" in audio.proto.upper() or audio.crypto,
    )
    return view, audio


@dataclass
class _HopMedia:
    """One hop's offer and answer, and the RTP streams that match its SDP endpoints."""

    offer: SdpView | None = None
    o_media: SdpMedia | None = None
    answer: SdpView | None = None
    a_media: SdpMedia | None = None
    fwd: list[RtpStream] = field(default_factory=list)
    rev: list[RtpStream] = field(default_factory=list)
    renegotiated: set[int] = field(default_factory=set)  # payload types a later re-INVITE/UPDATE agreed on

    def endpoints(self) -> tuple[str | None, str | None]:
        return (f"{self.offer.address}:{self.offer.port}" if self.offer else None,
                f"{self.answer.address}:{self.answer.port}" if self.answer else None)


def _hop_media(dialogs: list[Dialog], streams: list[RtpStream]) -> list[_HopMedia]:
    """Offer/answer per hop, hops with the same media endpoints merged, streams assigned.

    The first hop is the primary one (the INVITE as first seen). A stream that matches no
    hop's endpoints is taken as sent by the primary hop's offerer.
    """
    hops: list[_HopMedia] = []
    for neg in hop_negotiations(dialogs):
        offer = _sdp_view(neg.offer, neg.offer.msg.sdp) if neg.offer and neg.offer.msg.sdp else None
        if offer is None:
            continue
        answer = _sdp_view(neg.answer, neg.answer.msg.sdp) if neg.answer and neg.answer.msg.sdp else None
        hops.append(_HopMedia(offer[0], offer[1], *(answer or (None, None))))
    answered = [h for h in hops if h.answer is not None]
    chosen: list[_HopMedia] = []
    for h in answered or hops[:1] or [_HopMedia()]:
        # a re-INVITE or UPDATE from the answerer offers the same two endpoints the other way round
        same = next((c for c in chosen if set(h.endpoints()) == set(c.endpoints())), None) if _talking(h) else None
        if same is None:
            chosen.append(h)
        elif h.answer is not None:  # a re-INVITE or UPDATE on the same media (or the next hop's copy)
            same.renegotiated.update(h.answer.payload_types)
    for s in streams:
        matched = False
        for h in chosen:
            o_ep, a_ep = h.endpoints()
            if s.src == o_ep or s.dst == a_ep:
                h.fwd.append(s)
            elif s.dst == o_ep or s.src == a_ep:
                h.rev.append(s)
            else:
                continue
            matched = True
        if not matched:
            chosen[0].fwd.append(s)
    return chosen


def _talking(h: _HopMedia) -> bool:
    """Offer and answer both sendrecv: a renegotiation that puts nothing on hold."""
    return all(v is not None and v.direction == "sendrecv" for v in (h.offer, h.answer))


def _is_private(addr: str | None) -> bool:
    try:
        ip = ipaddress.ip_address(addr or "")
    except ValueError:
        return False
    return any(ip in net for net in PRIVATE_NETS)


def _dtmf_pts(media: SdpMedia | None) -> set[int]:
    if media is None:
        return set()
    return {pt for pt, enc in media.rtpmap.items() if enc[0].lower() == "telephone-event"}


def diagnose_call(dialogs: list[Dialog], streams: list[RtpStream], call_id: str, policy: Policy) -> CallDiagnosis:
    """Diagnose the call `call_id`; `dialogs` are that call and its correlated legs."""
    main = next(d for d in dialogs if d.call_id == call_id)
    call_ids = {d.call_id for d in dialogs}
    messages = sorted((p for d in dialogs for p in d.messages), key=lambda p: p.frame)
    retrans = {id(p) for d in dialogs for p, again in zip(d.messages, d.retransmitted, strict=False) if again}
    findings: list[Finding] = []
    t0 = main.start
    hops = [
        Hop(frame=p.frame, time=round(p.ts - t0, 6), src=_hop_name(p, policy, True),
            dst=_hop_name(p, policy, False), message=p.msg.summary, retransmission=id(p) in retrans)
        for p in messages
    ]
    invite = next((p for p in main.messages if p.msg.method == main.method and p.msg.is_request), main.messages[0])
    path = call_path(dialogs, policy)
    trunk = path.trunk
    challenges = sum(1 for p in main.messages if p.msg.status in (401, 407) and id(p) not in retrans)
    n_retrans = sum(d.retransmissions for d in dialogs)

    _setup_findings(main, invite, findings, policy, n_retrans, challenges, path)
    if main.final_status not in (500, 503, 504):  # else the call itself ended on it: the setup outcome
        findings += failover_findings(path, main.final_status)
    mine = [s for s in streams if s.call_id in call_ids or call_ids.intersection(s.claimed_by)]
    not_audio, fax = other_media(dialogs)
    hop_media = _hop_media(dialogs, [s for s in mine if s.src not in not_audio and s.dst not in not_audio])
    primary = hop_media[0]
    codecs = Codecs(
        offer=primary.offer,
        answer=primary.answer,
        negotiated=_first_codec(primary.a_media, primary.answer),
        seen_forward=sorted({pt for s in primary.fwd for pt in s.payload_types}),
        seen_reverse=sorted({pt for s in primary.rev for pt in s.payload_types}),
    )
    findings += relay_findings(hop_media, policy)
    for h, fed in zip(hop_media, feeding_streams(hop_media), strict=True):
        _sdp_findings(h.offer, h.o_media, h.answer, h.a_media, h.fwd, h.rev, findings, policy, h.renegotiated, fed)
        rtp_findings(main, h.fwd, h.rev, h.answer, findings, policy, fax, offer=h.offer, fed=fed)
    findings = list({(f.code, f.where, f.message): f for f in findings}.values())
    top = worst(findings)
    verdict = "no problem found" if top is None else f"{top.value}: " + "; ".join(
        f.code for f in sorted(findings, key=lambda f: -f.severity.rank)
    )
    return CallDiagnosis(
        call_id=call_id,
        legs=main.legs,
        from_uri=main.from_uri,
        to_uri=main.to_uri,
        trunk=trunk,
        start=main.start,
        pdd_ms=main.pdd_ms,
        final_status=main.final_status,
        final_meaning=STATUS_MEANING.get(main.final_status or 0),
        answered_at=main.answered_at,
        ended_at=main.ended_at,
        duration_s=main.duration_s,
        auth_challenges=challenges,
        retransmissions=n_retrans,
        answered_by=_answered_by(dialogs, policy),
        hops=hops,
        path=path,
        codecs=codecs,
        streams=mine,
        findings=findings,
        verdict=verdict,
    )


def _answered_by(dialogs: list[Dialog], policy: Policy) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for d in dialogs:
        for tx in d.transactions:
            if tx.method != "INVITE":
                continue
            for r in tx.responses:
                out.setdefault(_hop_name(r, policy, True), []).append(r.msg.summary)
    return out


def _first_codec(media: SdpMedia | None, view: SdpView | None) -> str | None:
    if media is None or view is None:
        return None
    dtmf = _dtmf_pts(media)
    for pt, name in zip(view.payload_types, view.codecs, strict=False):
        if pt not in dtmf and pt not in NON_AUDIO_PTS:
            return name
    return None


def _setup_findings(d: Dialog, invite: SipPacket, out: list[Finding], policy: Policy,
                    n_retrans: int, challenges: int, path: CallPath) -> None:
    status = d.final_status
    where = f"frame {invite.frame}"
    meaning = STATUS_MEANING.get(status or 0, "")
    if d.method == "INVITE":
        if status is None or status == 408:
            out.append(F.SETUP_TIMEOUT(
                f"INVITE to {invite.dst}:{invite.dport} got {'408' if status else 'no final response'}",
                where=where, invite_frame=invite.frame))
        elif status in (500, 503, 504):
            out.append(F.SERVICE_UNAVAILABLE(
                f"{invite.dst} answered {status} ({meaning})", where=where, status=status,
                answered_by=_final_sender(d)))
        elif status in (488, 606):
            out.append(F.CODEC_REJECTED(f"INVITE refused with {status} ({meaning})", where=where, status=status))
        elif status in (401, 403, 407):
            out.append(F.AUTH_FAILED(f"call ended on {status} ({meaning}) after {challenges} challenge(s)",
                                     where=where, status=status))
        elif status == 486 and (busy := busy_finding(path, policy, where)) is not None:
            out.append(busy)
        elif status >= 300:
            sev = Severity.info if status in USER_CAUSED else None
            out.append(F.SETUP_FAILED(f"call not answered: {status} {meaning}".strip(), severity=sev,
                                      where=where, status=status))
    if d.pdd_ms is not None and d.pdd_ms > policy.pdd_max_ms:
        out.append(F.HIGH_PDD(f"PDD {d.pdd_ms:.0f} ms above {policy.pdd_max_ms:.0f} ms", where=where,
                              pdd_ms=d.pdd_ms, invite_frame=invite.frame))
    if n_retrans:
        frames = [p.frame for p, again in zip(d.messages, d.retransmitted, strict=False) if again]
        out.append(F.SIP_RETRANSMISSIONS(f"{n_retrans} SIP retransmission(s)", where=f"frame {frames[0]}" if frames else where,
                                         frames=frames[:20]))


def _final_sender(d: Dialog) -> str | None:
    for p in d.messages:
        if p.msg.status == d.final_status:
            return f"{p.src}:{p.sport}"
    return None


def _sdp_findings(o_view: SdpView | None, o_media: SdpMedia | None, a_view: SdpView | None,
                  a_media: SdpMedia | None, fwd: list[RtpStream], rev: list[RtpStream],
                  out: list[Finding], policy: Policy, renegotiated: set[int] | None = None,
                  fed: Feeds = (None, None)) -> None:
    """`fed`: the streams a relay forwards as this hop's audio (`feeding_streams`)."""
    for view, media, role in ((o_view, o_media, "offer"), (a_view, a_media, "answer")):
        if view is None or media is None:
            continue
        missing = [pt for pt in view.payload_types if pt >= 96 and pt not in media.rtpmap]
        if missing:
            out.append(F.MISSING_RTPMAP(f"{role} lists dynamic payload type(s) {missing} without a=rtpmap",
                                        where=f"frame {view.frame}", payload_types=missing))
        if view.direction != "sendrecv" or view.address in ("0.0.0.0", "::"):
            out.append(F.MEDIA_ON_HOLD(f"{role} sets media {view.direction} ({view.address})",
                                       where=f"frame {view.frame}", direction=view.direction))
        if view.srtp:
            out.append(F.SRTP_MEDIA(f"{role} uses SRTP: payload types are not visible", where=f"frame {view.frame}"))
        # a private c= behind a public signalling address: the far end's NAT was not fixed up
        # (both private is one LAN, not a NAT problem)
        if _is_private(view.address) and not _is_private(view.sender.rsplit(":", 1)[0]):
            out.append(F.PRIVATE_MEDIA_ADDRESS(
                f"{role} advertises private media address {view.address}:{view.port} but was sent from "
                f"{view.sender} (far end behind NAT without SDP fix-up)", where=f"frame {view.frame}",
                address=view.address, sender=view.sender))
    if o_view and a_view and o_view.ptime and a_view.ptime and o_view.ptime != a_view.ptime:
        out.append(F.PTIME_MISMATCH(f"offer ptime {o_view.ptime:g} ms, answer {a_view.ptime:g} ms",
                                    where=f"frame {a_view.frame}"))
    if o_media and a_media and _dtmf_pts(o_media) and not _dtmf_pts(a_media):
        out.append(F.NO_TELEPHONE_EVENT("offer proposed telephone-event, the answer dropped it",
                                        where=f"frame {a_view.frame if a_view else 0}"))
    if a_view is None or a_media is None:
        return
    dtmf = _dtmf_pts(a_media) | _dtmf_pts(o_media)
    allowed = set(a_view.payload_types) | (renegotiated or set())  # a switch agreed later is no transcoding
    for direction, group, source in (("offerer->answerer", fwd, fed[0]), ("answerer->offerer", rev, fed[1])):
        upstream = {pt for u in source or [] for pt in u.payload_types}
        for s in group:
            odd = [pt for pt in s.payload_types if pt not in allowed and pt not in dtmf and pt not in NON_AUDIO_PTS]
            if odd and not set(odd) <= upstream:  # else the relay forwards what its source sent: judged there
                out.append(F.TRANSCODING(
                    f"answer negotiated {', '.join(a_view.codecs)} but RTP {direction} carries payload type "
                    f"{odd} ({s.codec})", where=f"frame {s.first_frame}",
                    negotiated=a_view.payload_types, seen=s.payload_types, stream=f"{s.src} -> {s.dst}"))
    denied = set(policy.deny_codecs)
    negotiated = _first_codec(a_media, a_view)  # what the call uses, not every codec the answer lists
    names = {(negotiated or "").split("/")[0].upper()} | {(s.codec or "").upper() for s in fwd + rev}
    hit = sorted(names & denied)
    if hit:
        out.append(F.CODEC_DENIED(f"codec(s) {', '.join(hit)} denied by the spec's policy were negotiated or sent",
                                  where=f"frame {a_view.frame}", codecs=hit))
    main_f = {s.payload_type for s in fwd if s.payload_type not in dtmf}
    main_r = {s.payload_type for s in rev if s.payload_type not in dtmf}
    if main_f and main_r and main_f.isdisjoint(main_r):
        out.append(F.CODEC_ASYMMETRY(f"offerer sends payload type {sorted(main_f)}, answerer {sorted(main_r)}",
                                     where=f"frame {a_view.frame}"))
    for role, view, group in (("offerer", o_view, fwd), ("answerer", a_view, rev)):
        if view is None:
            continue
        for s in group:
            src_addr = s.src.rsplit(":", 1)[0]
            if src_addr != view.address:
                out.append(F.MEDIA_ADDRESS_MISMATCH(
                    f"{role} advertised {view.address}:{view.port} but its RTP comes from {s.src}",
                    where=f"frame {s.first_frame}", advertised=f"{view.address}:{view.port}", seen=s.src))
