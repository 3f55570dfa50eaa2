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


def relay_findings(hops: Sequence[HopMedia], policy: Policy) -> list[Finding]:
    """A finding per direction a relay receives audio in and forwards none of."""
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
                if packets and not went:
                    out.append(F.RELAY_DROPS_MEDIA(
                        f"{name} receives {source}'s audio ({packets} packets) but forwards nothing to {sink}",
                        where=f"frame {came[0].first_frame}", node=name, hop=f"{name} -> {sink}",
                        received=packets, source=source))
    return out


def relayed_directions(hops: Sequence[HopMedia]) -> list[tuple[bool, bool]]:
    """Per hop: whether its offerer->answerer audio, and its answerer->offerer audio, is
    relayed from another hop (the sender is a relay that answered or offered there).
    A direction missing on such a hop is the relay's fault (`relay_findings`) or its
    source's on the hop upstream, never a second one-way finding here."""
    def address(side: _Side | None) -> str | None:
        return side.address if side is not None else None

    out = []
    for h in hops:
        fwd = address(h.offer) is not None and any(
            u is not h and u.offer is not None and address(u.answer) == address(h.offer) for u in hops)
        rev = address(h.answer) is not None and any(
            d is not h and d.answer is not None and address(d.offer) == address(h.answer) for d in hops)
        out.append((fwd, rev))
    return out
