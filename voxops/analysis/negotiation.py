"""SDP offer/answer per hop: which answer belongs to which offer.

A proxy forwards the INVITE with the same Call-ID, so one dialog's messages hold one copy
of the offer per hop. The answer to an offer is the SDP of the response travelling back
on the same hop, in the same INVITE transaction (RFC 3264 over RFC 3261 section 13.2.1):
a reliable 18x or the 2xx. A forwarded INVITE is the offer again on the next hop, never
an answer. An INVITE without SDP (late offer) is offered in the 2xx and answered in
the ACK of that hop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voxops.analysis.dialogs import Dialog
    from voxops.capture.records import SipPacket


@dataclass(frozen=True, slots=True)
class HopNegotiation:
    """One hop's INVITE transaction: the packet carrying the offer and the one answering it."""

    invite: SipPacket
    offer: SipPacket | None
    answer: SipPacket | None


def _has_audio(pkt: SipPacket) -> bool:
    sdp = pkt.msg.sdp
    return sdp is not None and any(m.kind == "audio" for m in sdp.media)


def hop_negotiations(dialogs: list[Dialog]) -> list[HopNegotiation]:
    """Every INVITE (and UPDATE) transaction of the dialogs with its offer and answer, in frame order."""
    out: list[HopNegotiation] = []
    for d in dialogs:
        for tx in d.transactions:
            req = tx.request
            if tx.method not in ("INVITE", "UPDATE") or req is None:  # UPDATE: RFC 3311 offer/answer
                continue
            back = [r for r in tx.responses if r.src == req.dst]  # the same branch seen on another hop is not this hop
            if _has_audio(req):
                answer = next((r for r in back if 180 <= (r.msg.status or 0) < 300 and _has_audio(r)), None)
                out.append(HopNegotiation(req, req, answer))
                continue
            ok = next((r for r in back if 200 <= (r.msg.status or 0) < 300 and _has_audio(r)), None)
            ack = None
            if ok is not None:
                ack = next((p for p in d.messages if p.msg.method == "ACK" and p.frame > ok.frame
                            and p.src == req.src and p.dst == req.dst and p.msg.cseq
                            and p.msg.cseq[0] == tx.cseq and _has_audio(p)), None)
            out.append(HopNegotiation(req, ok, ack))
    out.sort(key=lambda h: h.invite.frame)
    return out
