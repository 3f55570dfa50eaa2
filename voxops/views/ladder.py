"""Ladder output formats and the choices shared by `voxops ladder` and `voxops export`."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, assert_never

from voxops.errors import InvalidInput

if TYPE_CHECKING:  # the CLI imports this module for LadderFormat: keep numpy out of --help
    from collections.abc import Callable

    from voxops.analysis.dialogs import Dialog
    from voxops.analysis.ladder import Ladder
    from voxops.capture.engines import Engine
    from voxops.capture.records import SipPacket, UdpTable
    from voxops.views.ladder_audio import AudioTrack


class LadderFormat(StrEnum):
    text = "text"
    svg = "svg"
    png = "png"
    html = "html"
    mermaid = "mermaid"


def render_ladder(ladder: Ladder, fmt: LadderFormat, *, colour: bool = False,
                  text: dict[str, Any] | None = None, audio: AudioTrack | None = None) -> str | bytes:
    """`text`: the text view's layout (width, full, time); `audio`: energy lanes (svg, png, html)."""
    if not ladder.arrows:
        raise InvalidInput("nothing to draw: the selected dialogs have no messages")
    if fmt is LadderFormat.text:
        from voxops.views.ladder_text import render_text

        return render_text(ladder, colour=colour, **(text or {}))
    if fmt is LadderFormat.svg or fmt is LadderFormat.png:
        from voxops.views.ladder_plot import render_plot

        return render_plot(ladder, fmt.value, audio=audio)
    if fmt is LadderFormat.html:
        from voxops.views.ladder_html import render_html

        return render_html(ladder, audio=audio)
    if fmt is LadderFormat.mermaid:
        from voxops.views.ladder_mermaid import render_mermaid

        return render_mermaid(ladder)
    assert_never(fmt)


AUDIO_FORMATS = (LadderFormat.svg, LadderFormat.png, LadderFormat.html)


def call_audio_track(pcap: Path, dialogs: Sequence[Dialog], udp: UdpTable, ladder: Ladder, call_ids: Sequence[str],
                     *, spec: Path | None, warn: Callable[[str], None]) -> AudioTrack:
    """`voxops ladder --audio`: the chosen call's decoded audio as energy lanes."""
    from voxops.analysis.loader import policy_for
    from voxops.audio.call import decode_loaded
    from voxops.audio.conversation import thresholds_of
    from voxops.views.ladder_audio import audio_track

    limits = thresholds_of(policy_for(spec))
    call = decode_loaded(pcap, dialogs, udp, call_ids[0] if call_ids else dialogs[0].call_id, limits=limits, warn=warn)
    return audio_track(call, ladder, limits.response_latency_ms)


def host_names(spec: Path | None) -> dict[str, str]:
    """Address -> name from a topology spec (empty without one)."""
    if spec is None:
        return {}
    from voxops.spec.loader import load_topology

    topology, _ = load_topology(spec)
    # trunk hosts come as "carrier/trunk": a ladder column is the carrier
    return {addr: name.split("/", 1)[0] for addr, name in topology.addresses().items()}


def pick_dialogs(sip: Sequence[SipPacket], call_ids: Sequence[str],
                 correlate: Sequence[str], capture: Path | str = "CAPTURE") -> list[Dialog]:
    """The dialogs named by Call-ID (exact or unique prefix) plus their correlated legs.

    With no Call-ID given the capture must hold exactly one call.
    """
    from voxops.analysis.call_ids import choose, list_hint, refs
    from voxops.analysis.dialogs import build_dialogs, dialogs_for

    dialogs = build_dialogs(sip, correlate_headers=correlate)
    if not dialogs:
        raise InvalidInput("no SIP dialogs in this capture")
    if not call_ids:
        calls = [d for d in dialogs if d.method == "INVITE"] or dialogs
        roots = {min([d.call_id, *d.legs]) for d in calls}
        if len(roots) != 1:
            raise InvalidInput(f"{len(roots)} calls in this capture: choose one with --call-id",
                               hint=list_hint(capture))
        return dialogs_for(dialogs, [calls[0].call_id])
    known = refs(dialogs)
    chosen = [cid for want in call_ids for cid in choose(want, known, capture=capture)]
    return dialogs_for(dialogs, chosen)


def load_call(
    pcap: Path,
    call_ids: Sequence[str],
    correlate: Sequence[str],
    *,
    engine: Engine,
    tls_keylog: Path | None,
    warn: Callable[[str], None],
) -> tuple[list[Dialog], UdpTable]:
    """The chosen call's dialogs and RTP/RTCP rows.

    Natively in two passes: signalling first, then only the UDP rows between the
    media addresses of the call's SDP are kept, so memory does not grow with the
    capture. The tshark engine is slow enough that one pass is better.
    """
    from voxops.analysis.dialogs import CallSelector
    from voxops.analysis.ladder import media_rows
    from voxops.analysis.loader import select_call_sip
    from voxops.capture.engines import Engine, load_capture

    one_pass = engine is Engine.tshark
    if one_pass or not call_ids:
        capture = load_capture(pcap, engine=engine, tls_keylog=tls_keylog, media=one_pass, warn=warn)
        sip = capture.sip
    else:  # only the chosen calls' messages are ever held
        sip = select_call_sip(pcap, call_ids, correlate=correlate, engine=engine, tls_keylog=tls_keylog,
                              warn=warn)
    dialogs = pick_dialogs(sip, call_ids, correlate, pcap)
    if one_pass:
        return dialogs, capture.udp.select(media_rows(dialogs, capture.udp))
    media = load_capture(pcap, engine=engine, udp_keep=lambda table: media_rows(dialogs, table),
                         sip_filter=CallSelector(()))
    return dialogs, media.udp


def visible_ladder(ladder: Ladder) -> Ladder:
    """The ladder with every string that came off the wire passed through `visible`.

    Every ladder format starts from this copy, then escapes for its own syntax.
    """
    from dataclasses import replace

    from voxops.text.safe_text import visible, visible_block

    arrows = [
        replace(a, label=visible(a.label), call_id=visible(a.call_id), transport=visible(a.transport),
                sdp=None if a.sdp is None else visible(a.sdp), src_addr=visible(a.src_addr),
                dst_addr=visible(a.dst_addr), text=visible_block(a.text))
        for a in ladder.arrows
    ]
    spans = [replace(s, codec=visible(s.codec), src_addr=visible(s.src_addr), dst_addr=visible(s.dst_addr))
             for s in ladder.spans]
    return replace(ladder, columns=[visible(c) for c in ladder.columns],
                   addresses=[visible(a) for a in ladder.addresses], arrows=arrows, spans=spans,
                   call_ids=[visible(c) for c in ladder.call_ids])
