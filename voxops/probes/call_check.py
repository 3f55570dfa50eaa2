"""`voxops probe --call`: a synthetic test call through each SBC node, with audio.

Per node: INVITE (from a carrier-side address, to the agents' service number), PDD to the
first 180/183, then `seconds` of PCMU from the call's own RTP port with a tone burst every
second; an echoing agent sends each burst back, which gives the round-trip audio delay.
Measured: RTP sent and received, loss, jitter, MOS (E-model, G.711), and, when the node
has a media relay, the relay's own view of the call over ng (`query`): how many packets
it received from each side. That is what names the relay when media dies between SIP
that looks healthy ("SIP up, media dead").
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from voxops.probes.call_findings import judge_call
from voxops.probes.call_media import AudioResult, exchange_audio
from voxops.probes.call_report import CallReport, CallResult, RelayView
from voxops.probes.sip_call import SipCall, acknowledge, hang_up, place_invite
from voxops.spec.models import SbcNode, Topology

PCMU = 0


def relay_of(topology: Topology, node: SbcNode) -> tuple[str, int] | None:
    media = topology.sbc.media
    return None if media is None else (media.control_address(node.address), media.ng_port)


def query_relay(relay: tuple[str, int], call_id: str, from_tag: str, timeout: float) -> RelayView:
    """Packets the relay received from each side of the call, from its ng `query`."""
    from voxops.probes import rtpengine_ng as ng

    view = RelayView(relay=f"{relay[0]}:{relay[1]}")
    try:
        reply = ng.command(relay[0], relay[1], {"command": "query", "call-id": call_id}, timeout=timeout)
    except (ng.NgError, OSError) as exc:
        return view.model_copy(update={"error": str(exc)})
    if reply.get(b"result") != b"ok":
        return view.model_copy(update={"error": ng.result(reply)})
    counts: dict[bool, int] = {True: 0, False: 0}
    tags = reply.get(b"tags")
    for tag, info in (tags.items() if isinstance(tags, dict) else []):
        mine = tag == from_tag.encode()
        for media in bencoded_list(info, b"medias"):
            for stream in bencoded_list(media, b"streams"):
                stats = stream.get(b"stats") if isinstance(stream, dict) else None
                packets = stats.get(b"packets") if isinstance(stats, dict) else None
                if isinstance(packets, int):
                    counts[mine] += packets
    return view.model_copy(update={"from_caller": counts[True], "from_callee": counts[False]})


def bencoded_list(node: object, key: bytes) -> list:
    """node[key] of an ng reply when it is a list, else [] (replies are untrusted)."""
    value = node.get(key) if isinstance(node, dict) else None
    return value if isinstance(value, list) else []


def place_call(topology: Topology, node: SbcNode, *, source: str, service: str, seconds: float,
               timeout: float) -> CallResult:
    """One test call through `node`; every socket is the call's own (port 0)."""
    _, host, port = node.sockets()[0]
    family = socket.AF_INET6 if ":" in source else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sip, socket.socket(family, socket.SOCK_DGRAM) as rtp:
        sip.bind((source, 0))
        rtp.bind((source, 0))
        call = SipCall(sip, (host, port), service, rtp.getsockname()[1])
        result = CallResult(node=node.name, target=f"{host}:{port}", call_id=call.call_id,
                            source=f"{source}:{call.local[1]}", rtp_local=f"{source}:{call.rtp_port}", status=None)
        setup = place_invite(call, answer_timeout_s=timeout)
        final = setup.final
        if final is None:
            return result
        heard = setup.first_ringing_at or final.at
        update: dict[str, object] = {"status": final.status, "reason": final.reason,
                                     "pdd_ms": round((heard - setup.sent_at) * 1000, 1)}
        if final.status >= 300:
            return result.model_copy(update=update)
        call.establish(final)
        acknowledge(call)
        media = final.media()
        relay = relay_of(topology, node)
        if media is not None:
            update.update(rtp_remote=f"{media[0]}:{media[1]}", payload_type=media[2])
            # the probe offered PCMU only and speaks nothing else, whatever the answer names
            audio = exchange_audio(rtp, (media[0], media[1]), PCMU, seconds)
            update.update(_audio_figures(audio, topology))
        if relay is not None:
            update["relay"] = query_relay(relay, call.call_id, call.from_tag, min(timeout, 2.0))
        update["bye_status"] = hang_up(call)
        return result.model_copy(update=update)


def _audio_figures(audio: AudioResult, topology: Topology) -> dict[str, object]:
    from voxops.analysis.emodel import codec_impairment, estimate_mos

    loss = audio.loss_percent()
    rtt = audio.round_trip_ms()
    figures: dict[str, object] = {"rtp_sent": audio.sent, "rtp_received": audio.received.count,
                                  "loss_percent": loss, "round_trip_ms": rtt,
                                  "jitter_ms": round(audio.received.jitter / 8, 2) if audio.received.count > 1 else None}
    pts = audio.received.payload_types
    codec = codec_impairment(None, min(pts)) if pts else None
    if codec is not None and loss is not None:
        # one-way delay: half the audio round trip (an echoing agent adds its own hold)
        figures["mos"] = estimate_mos(codec, loss, delay_ms=(rtt or 0.0) / 2).mos
    return figures


def check_calls(spec: Path, *, only: str | None = None, source: str | None = None, service: str = "agent",
                seconds: float = 3.0, timeout: float = 10.0) -> CallReport:
    from voxops.errors import InvalidInput
    from voxops.spec.loader import load_topology

    topology, _ = load_topology(spec)
    nodes = [n for n in topology.sbc.nodes if only in (None, n.name)]
    if not nodes:
        raise InvalidInput(f"no SBC node named {only!r} in {spec}")
    trunks = topology.trunks()
    origin = source or (trunks[0][1].hosts[0].address if trunks else None)
    if origin is None:
        raise InvalidInput("no address to call from: pass --call-from (a carrier-side address the SBC accepts)")
    calls = []
    for node in nodes:
        try:
            calls.append(place_call(topology, node, source=origin, service=service, seconds=seconds, timeout=timeout))
        except OSError as exc:
            from voxops.errors import EnvironmentProblem

            raise EnvironmentProblem(f"cannot place a test call from {origin}: {exc.strerror or exc}") from None
        time.sleep(0.05)
    findings = [f for c in calls for f in judge_call(c, topology.slo)]
    return CallReport(spec=str(spec), calls=calls, findings=findings)
