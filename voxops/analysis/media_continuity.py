"""Hop-by-hop media continuity through a relay (an SBC that anchors media).

When one node's media address answers on one hop and offers on the next, it relays the
audio between them. Audio that enters the relay on one leg and does not leave on the
other is the relay's fault, not the callers': the classic outage where the SIP proxy is
healthy while the media server silently drops packets. The finding names the relay.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from voxops.analysis import faults as F
from voxops.analysis.hops import node_name

if TYPE_CHECKING:
    from voxops.analysis.policy import Policy
    from voxops.analysis.streams import RtpStream
    from voxops.findings import Finding


class _Side(Protocol):
    address: str | None


class HopMedia(Protocol):
    @property
    def offer(self) -> _Side | None: ...
    @property
    def answer(self) -> _Side | None: ...
    @property
    def fwd(self) -> list[RtpStream]: ...
    @property
    def rev(self) -> list[RtpStream]: ...


# A relay forwarding less than 1/20 of what it receives on a leg drops that leg's audio.
DROPPED_SHARE = 20


def relay_findings(hops: Sequence[HopMedia], policy: Policy) -> list[Finding]:
    """A finding per direction a relay receives audio in and forwards (almost) none of."""
    out = []
    for up in hops:
        for down in hops:
            if up is down or up.answer is None or down.offer is None or up.offer is None or down.answer is None:
                continue
            relay = up.answer.address
            if relay is None or relay != down.offer.address:
                continue
            name = node_name(relay, None, policy)
            upstream, downstream = node_name(up.offer.address or "?", None, policy), \
                node_name(down.answer.address or "?", None, policy)
            for came, went, source, sink in ((down.rev, up.rev, downstream, upstream),
                                             (up.fwd, down.fwd, upstream, downstream)):
                packets = sum(s.packets for s in came)
                forwarded = sum(s.packets for s in went)
                # a relay that starts dropping a moment after the answer lets a packet or two through
                if packets and forwarded * DROPPED_SHARE < packets:
                    what = "nothing" if not forwarded else f"only {forwarded} packet{'s' if forwarded > 1 else ''}"
                    out.append(F.RELAY_DROPS_MEDIA(
                        f"{name} receives {source}'s audio ({packets} packets) but forwards {what} to {sink}",
                        where=f"frame {came[0].first_frame}", node=name, hop=f"{name} -> {sink}",
                        received=packets, forwarded=forwarded, source=source))
    return out


Feeds = tuple["list[RtpStream] | None", "list[RtpStream] | None"]


def feeding_streams(hops: Sequence[HopMedia]) -> list[Feeds]:
    """Per hop: the streams a relay receives on another hop and forwards as this hop's
    offerer->answerer audio, and as its answerer->offerer audio; None where that direction
    is not relayed (its sender is where the audio starts). A direction missing, lossy or
    in the wrong codec on a relayed hop is judged where it starts (`relay_findings` or the
    hop upstream), never a second time here."""
    def address(side: _Side | None) -> str | None:
        return side.address if side is not None else None

    out: list[Feeds] = []
    for h in hops:
        fwd = next((u.fwd for u in hops if u is not h and u.offer is not None and address(h.offer) is not None
                    and address(u.answer) == address(h.offer)), None)
        rev = next((d.rev for d in hops if d is not h and d.answer is not None and address(h.answer) is not None
                    and address(d.offer) == address(h.answer)), None)
        out.append((fwd, rev))
    return out
