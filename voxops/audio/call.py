"""Decoding one call of a capture: its RTP read again in full, per direction, then analysed.

Memory holds this call only: the signalling and the UDP rows are selected the way
`voxops ladder` and `voxops export` select them (two passes over the capture), and only
the chosen frames' payloads are read back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from voxops.audio.conversation import Conversation, Interval, Thresholds, analyse
from voxops.audio.timeline import DirectionAudio, assemble
from voxops.audio.voice import Voice, detect_voice
from voxops.capture.payloads import RtpPackets, read_rtp
from voxops.errors import InvalidInput

if TYPE_CHECKING:
    from voxops.analysis.dialogs import Dialog
    from voxops.capture.records import SipPacket, UdpTable

SIDES = ("caller", "agent")
HOLD_DIRECTIONS = {"sendonly", "recvonly", "inactive"}
Endpoint = tuple[str, int]


@dataclass
class Side:
    role: str
    address: str | None  # ip:port the RTP came from
    audio: DirectionAudio
    voice: Voice
    packets: int


@dataclass
class CallAudio:
    call_id: str
    start: float  # epoch seconds of the call's first message: sample 0 of both directions
    answered: float | None  # seconds from `start`
    ended: float | None
    holds: list[Interval]
    sides: dict[str, Side]
    conversation: Conversation


def main_dialog(dialogs: Sequence[Dialog], call_id: str) -> Dialog:
    exact = [d for d in dialogs if d.call_id == call_id]
    return (exact or [d for d in dialogs if d.call_id.startswith(call_id)] or list(dialogs))[0]


def _invite(d: Dialog) -> SipPacket:
    return next((p for p in d.messages if p.msg.is_request and p.msg.method == "INVITE"), d.messages[0])


def media_sides(d: Dialog) -> tuple[dict[str, set[Endpoint]], dict[int, tuple[str, int, int]], list[Interval]]:
    """Each side's SDP audio endpoints, the payload-type map, and holds (seconds from the start)."""
    caller_tag = _invite(d).msg.from_tag
    ends: dict[str, set[Endpoint]] = {"caller": set(), "agent": set()}
    rtpmap: dict[int, tuple[str, int, int]] = {}
    holds: list[Interval] = []
    held_at: float | None = None
    for pkt in d.messages:
        sdp = pkt.msg.sdp
        if sdp is None:
            continue
        # the caller's SDP travels in its own requests (From: the caller) and in the responses
        # to the agent's; on every hop of a proxied call, whatever address relays it
        side = "caller" if pkt.msg.is_request == (pkt.msg.from_tag == caller_tag) else "agent"
        for m in sdp.media:
            if m.kind != "audio":
                continue
            rtpmap.update(m.rtpmap)
            if m.connection and m.port:
                ends[side].add((m.connection, m.port))
            on_hold = m.direction in HOLD_DIRECTIONS or m.connection in ("0.0.0.0", "::") or not m.port
            if on_hold and held_at is None:
                held_at = pkt.ts - d.start
            elif not on_hold and held_at is not None and pkt.msg.is_request:
                holds.append(Interval(start=round(held_at, 3), end=round(pkt.ts - d.start, 3)))
                held_at = None
    if held_at is not None:
        holds.append(Interval(start=round(held_at, 3), end=round(d.end - d.start, 3)))
    return ends, rtpmap, holds


def split_directions(udp: UdpTable, ends: dict[str, set[Endpoint]]) -> dict[str, np.ndarray]:
    """Row indexes of the RTP each side sent: what reached the other side's SDP address."""
    rtcp = ((udp.head[:, 0] >> 6) == 2) & (udp.head[:, 1] >= 200) & (udp.head[:, 1] <= 204)
    index = {a: i for i, a in enumerate(udp.addresses)}
    key = udp.dst.astype(np.int64) * 65536 + udp.dport.astype(np.int64)
    rows = {}
    for side, other in (("caller", "agent"), ("agent", "caller")):
        keys = [index[a] * 65536 + p for a, p in ends[other] if a in index]
        rows[side] = np.flatnonzero(np.isin(key, np.array(keys, np.int64)) & ~rtcp)
    return rows


def decode_call(pcap: Path, call_id: str, correlate: Sequence[str], *, limits: Thresholds,
                warn: Callable[[str], None]) -> CallAudio:
    """The named call's audio per direction and its conversation analysis."""
    from voxops.capture.engines import Engine
    from voxops.views.ladder import load_call

    dialogs, udp = load_call(pcap, [call_id], correlate, engine=Engine.native, tls_keylog=None, warn=warn)
    return decode_loaded(pcap, dialogs, udp, call_id, limits=limits, warn=warn)


def decode_loaded(pcap: Path, dialogs: Sequence[Dialog], udp: UdpTable, call_id: str, *, limits: Thresholds,
                  warn: Callable[[str], None]) -> CallAudio:
    """`decode_call` once the call's dialogs and UDP rows are loaded (`voxops ladder --audio`)."""
    d = main_dialog(dialogs, call_id)
    ends, _, _ = media_sides(d)
    rows = split_directions(udp, ends)
    if not any(len(r) for r in rows.values()):
        raise InvalidInput(f"{pcap}: call {d.call_id} carried no RTP to its SDP addresses: no audio to decode",
                           hint="`voxops rtp CAPTURE` lists the streams the capture holds")
    rtp = read_rtp(pcap, np.concatenate([udp.frame[r] for r in rows.values()]), warn)
    return decode_dialog(d, udp, rows, rtp, limits=limits)


def decode_dialog(d: Dialog, udp: UdpTable, rows: dict[str, np.ndarray], rtp: RtpPackets, *,
                  limits: Thresholds) -> CallAudio:
    """One call's audio from the RTP read back for it (`rtp` may hold other calls' packets:
    each side keeps the frames of its `rows` of `udp`)."""
    _, rtpmap, holds = media_sides(d)
    rtcp = (rtp.pt >= 72) & (rtp.pt <= 76)  # RTCP's packet types 200-204 seen through an RTP header
    packets: dict[str, RtpPackets] = {}
    for side in SIDES:  # read back together: split again by the frames each side sent
        packets[side] = rtp.select(np.isin(rtp.frame, udp.frame[rows[side]]) & ~rtcp)
    arrivals = [float(packets[s].arrival.max()) for s in SIDES if len(packets[s])]
    # the audio ends with the last packet: a BYE days later (or never) asks for no more memory
    end = (max(arrivals) if arrivals else d.end) + 0.02
    sides = {}
    for side in SIDES:
        audio = assemble(packets[side], rtpmap, d.start, end)
        source = None
        if len(rows[side]):
            r = int(rows[side][0])
            source = f"{udp.addresses[int(udp.src[r])]}:{int(udp.sport[r])}"
        sides[side] = Side(side, source, audio, detect_voice(audio.pcm, audio.rate, audio.flowing),
                           len(packets[side]))
    answered = None if d.answered_at is None else round(d.answered_at - d.start, 3)
    ended = None if d.ended_at is None else round(d.ended_at - d.start, 3)
    conversation = analyse(sides["caller"].voice, sides["agent"].voice,
                           {s: sides[s].audio.flowing for s in SIDES},
                           answered=answered, ended=ended, holds=holds, limits=limits)
    return CallAudio(d.call_id, d.start, answered, ended, holds, sides, conversation)


def energy_lanes(call: CallAudio) -> dict[str, tuple[np.ndarray, np.ndarray, list[tuple[float, float]]]]:
    """Per side: frame times (s from the call's start), level in dBFS, talk spurts: for drawing."""
    from voxops.audio.timeline import FRAME_S

    lanes = {}
    for role, side in call.sides.items():
        level = side.voice.level_dbfs
        lanes[role] = (np.arange(len(level)) * FRAME_S, level, [(s.start, s.end) for s in side.voice.spurts])
    return lanes
