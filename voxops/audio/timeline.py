"""One direction's RTP packets placed on the call's clock, as a jitter buffer would play them.

Packets are ordered by sequence number within a segment (one SSRC, one unbroken
timeline), duplicates are dropped, missing packets become silence and are counted. A new
SSRC, or a timestamp that jumps away from the arrival clock, starts a new segment,
anchored where its packets arrived. Nothing is discarded for arriving late: the capture
is read after the fact, so the whole call is the buffer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from voxops.audio.codecs import Codec, Undecodable, decoder_for
from voxops.capture.payloads import RtpPacket

FRAME_S = 0.010  # the analysis frame: presence and voice are judged 10 ms at a time
SEGMENT_JUMP_S = 1.0  # timestamp and arrival clocks drifting apart this much: a new segment
MAX_CALL_S = 4 * 3600  # no timeline longer than this is built (a bogus timestamp cannot ask for more)
COMFORT_NOISE = {"CN"}
EVENTS = {"TELEPHONE-EVENT"}


class Segment(BaseModel):
    """One SSRC's unbroken stretch of a direction (JSON: `voxops audio`, docs/audio.md)."""

    model_config = ConfigDict(extra="forbid")
    ssrc: int
    start: float = Field(description="seconds from the call's start")
    end: float
    codecs: list[str]
    packets: int
    lost: int
    lost_ms: float = Field(description="audio missing from sequence gaps, written as silence")
    duplicates: int
    reordered: int


class DtmfEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    digit: str
    at: float = Field(description="seconds from the call's start")
    duration_ms: float


@dataclass
class DirectionAudio:
    """The decoded audio of one direction; `flowing[i]`: packets covered analysis frame i."""

    rate: int
    pcm: np.ndarray  # int16, sample 0 at the call's start
    flowing: np.ndarray  # bool per FRAME_S
    segments: list[Segment] = field(default_factory=list)
    dtmf: list[DtmfEvent] = field(default_factory=list)
    undecodable: dict[str, str] = field(default_factory=dict)  # codec -> why not
    missing_library: str | None = None
    bad_packets: int = 0  # payloads a decoder refused (too long, malformed)
    comfort_noise: int = 0


def _unwrap(values: np.ndarray, bits: int) -> np.ndarray:
    """Extended sequence numbers / timestamps: signed steps between neighbours, accumulated."""
    if not len(values):
        return values.astype(np.int64)
    span = 1 << bits
    steps = np.mod(np.diff(values.astype(np.int64)), span)
    steps = np.where(steps >= span // 2, steps - span, steps)
    return np.concatenate([[0], np.cumsum(steps)]) + int(values[0])


def split_segments(packets: list[RtpPacket], clock_of: dict[int, int]) -> list[list[RtpPacket]]:
    """Packets (in arrival order) grouped by SSRC, each group split where its clock jumps."""
    by_ssrc: dict[int, list[RtpPacket]] = {}
    for p in packets:
        by_ssrc.setdefault(p.ssrc, []).append(p)
    groups = []
    for group in by_ssrc.values():
        clock = clock_of.get(group[0].pt, 8000)
        ts = _unwrap(np.array([p.ts for p in group], np.int64), 32)
        skew = np.array([p.arrival for p in group]) - ts / clock
        breaks = np.flatnonzero(np.abs(np.diff(skew)) > SEGMENT_JUMP_S) + 1
        bounds = [0, *breaks.tolist(), len(group)]
        groups += [group[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    return sorted(groups, key=lambda g: g[0].arrival)


DTMF_DIGITS = "0123456789*#ABCD"


def dtmf_events(packets: list[RtpPacket], clock: int, t0: float) -> list[DtmfEvent]:
    """RFC 4733 events: one per event start timestamp, its longest duration."""
    events: dict[tuple[int, int], DtmfEvent] = {}
    for p in packets:
        if len(p.payload) < 4:
            continue
        code, duration = p.payload[0], int.from_bytes(p.payload[2:4], "big")
        digit = DTMF_DIGITS[code] if code < len(DTMF_DIGITS) else f"event {code}"
        key = (p.ssrc, p.ts)
        known = events.get(key)
        ms = 1000.0 * duration / clock
        if known is None:
            events[key] = DtmfEvent(digit=digit, at=round(p.arrival - t0, 3), duration_ms=ms)
        else:
            known.duration_ms = max(known.duration_ms, ms)
    return sorted(events.values(), key=lambda e: e.at)


class _Decoders:
    """One stateful decoder per payload type of a direction; undecodable ones remembered."""

    def __init__(self, rtpmap: dict[int, tuple[str, int, int]], out: DirectionAudio) -> None:
        self.rtpmap, self.out = rtpmap, out
        self.codecs: dict[int, Codec | None] = {}

    def get(self, pt: int) -> Codec | None:
        if pt not in self.codecs:
            enc = self.rtpmap.get(pt)
            if enc is None:
                self.out.undecodable[f"PT {pt}"] = "payload type not named by the SDP (rtpmap): not guessed"
                self.codecs[pt] = None
                return None
            try:
                self.codecs[pt] = decoder_for(*enc)
            except Undecodable as exc:
                self.out.undecodable[f"{enc[0]}/{enc[1]}"] = str(exc)
                self.out.missing_library = self.out.missing_library or exc.missing
                self.codecs[pt] = None
        return self.codecs[pt]


def _place(segment: list[RtpPacket], decoders: _Decoders, out: DirectionAudio,
           rate: int, t0: float, chunks: list[tuple[int, np.ndarray]]) -> Segment:
    seq = _unwrap(np.array([p.seq for p in segment], np.int64), 16)
    ts = _unwrap(np.array([p.ts for p in segment], np.int64), 32)
    clock = decoders.rtpmap.get(segment[0].pt, ("", 8000, 1))[1]
    arrival = np.array([p.arrival for p in segment])
    anchor = float(np.min(arrival - (ts - ts[0]) / clock))  # the least-delayed packet sets the clock
    order = np.argsort(seq, kind="stable")
    unique = np.concatenate([[True], np.diff(seq[order]) != 0])
    reordered = int(np.sum(seq < np.maximum.accumulate(seq)))
    names: list[str] = []
    for i in order[unique].tolist():
        p = segment[i]
        codec = decoders.get(p.pt)
        at = anchor + (ts[i] - ts[0]) / clock - t0
        if codec is None:
            continue
        if codec.name not in names:
            names.append(codec.name)
        try:
            pcm = codec.decode(p.payload)
        except ValueError:
            out.bad_packets += 1
            continue
        if codec.rate != rate:
            pcm = _resample(pcm, codec.rate, rate)
        chunks.append((round(at * rate), pcm))
    span = int(seq[order][-1] - seq[order][0] + 1)
    lost = max(0, span - int(unique.sum()))
    steps = np.diff(ts[order][unique])
    packet_s = float(np.median(steps[steps > 0])) / clock if np.any(steps > 0) else 0.02
    return Segment(ssrc=segment[0].ssrc, start=round(anchor - t0, 4),
                   end=round(float(arrival.max()) - t0, 4), codecs=names, packets=len(segment),
                   lost=lost, lost_ms=round(1000 * lost * packet_s, 1),
                   duplicates=int(len(segment) - unique.sum()), reordered=reordered)


def _resample(pcm: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    n = len(pcm) * rate_out // rate_in
    return np.interp(np.arange(n) * rate_in / rate_out, np.arange(len(pcm)), pcm).astype(np.int16)


def _output_rate(packets: list[RtpPacket], rtpmap: dict[int, tuple[str, int, int]]) -> int:
    rates = [8000]
    for pt in {p.pt for p in packets}:
        enc = rtpmap.get(pt)
        if enc is not None:
            with_rate = {"G722": 16000, "OPUS": 16000}.get(enc[0].upper(), enc[1])
            rates.append(with_rate if with_rate <= 48000 else 8000)
    return max(rates)


def assemble(packets: list[RtpPacket], rtpmap: dict[int, tuple[str, int, int]],
             t0: float, end: float) -> DirectionAudio:
    """The direction's audio from `t0` (the call's start) to `end` (epoch seconds)."""
    kinds = {pt: enc[0].upper() for pt, enc in rtpmap.items()}
    voice = [p for p in packets if kinds.get(p.pt) not in EVENTS | COMFORT_NOISE]
    rate = _output_rate(voice, rtpmap)
    length = max(0.0, min(end - t0, MAX_CALL_S))
    out = DirectionAudio(rate=rate, pcm=np.zeros(0, np.int16),
                         flowing=np.zeros(int(np.ceil(length / FRAME_S)) + 1, bool))
    events = [p for p in packets if kinds.get(p.pt) in EVENTS]
    if events:
        out.dtmf = dtmf_events(events, rtpmap[events[0].pt][1], t0)
    decoders = _Decoders(rtpmap, out)
    chunks: list[tuple[int, np.ndarray]] = []
    clock_of = {pt: enc[1] for pt, enc in rtpmap.items()}
    for segment in split_segments(voice, clock_of):
        out.segments.append(_place(segment, decoders, out, rate, t0, chunks))
    out.comfort_noise = sum(1 for p in packets if kinds.get(p.pt) in COMFORT_NOISE)
    pcm = np.zeros(int(length * rate), np.int16)
    for at, samples in chunks:
        lo, hi = max(at, 0), min(at + len(samples), len(pcm))
        if hi > lo:
            pcm[lo:hi] = samples[lo - at: hi - at]
    out.pcm = pcm
    _mark_flowing(out.flowing, [p for p in packets if kinds.get(p.pt) not in EVENTS], t0)
    return out


def _mark_flowing(flowing: np.ndarray, packets: list[RtpPacket], t0: float) -> None:
    """Frames within two packet intervals of an arrival count as 'packets flowing'."""
    if not packets or not len(flowing):
        return
    frames = ((np.array([p.arrival for p in packets]) - t0) / FRAME_S).astype(np.int64)
    frames = frames[(frames >= 0) & (frames < len(flowing))]
    for shift in range(-2, 3):  # a 20 ms packet covers its own frame and its neighbours
        flowing[np.clip(frames + shift, 0, len(flowing) - 1)] = True
