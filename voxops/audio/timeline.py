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
from voxops.capture.payloads import RtpPackets

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


def split_segments(packets: RtpPackets, clock_of: dict[int, int]) -> list[np.ndarray]:
    """Indexes of `packets` (in arrival order) grouped by SSRC, each group split where its clock jumps."""
    groups = []
    for ssrc in dict.fromkeys(packets.ssrc.tolist()):
        group = np.flatnonzero(packets.ssrc == ssrc)
        clock = clock_of.get(int(packets.pt[group[0]]), 8000)
        skew = packets.arrival[group] - _unwrap(packets.ts[group], 32) / clock
        breaks = np.flatnonzero(np.abs(np.diff(skew)) > SEGMENT_JUMP_S) + 1
        groups += [part for part in np.split(group, breaks) if len(part)]
    return sorted(groups, key=lambda g: float(packets.arrival[g[0]]))


DTMF_DIGITS = "0123456789*#ABCD"


def dtmf_events(packets: RtpPackets, clock: int, t0: float) -> list[DtmfEvent]:
    """RFC 4733 events: one per event start timestamp, its longest duration."""
    events: dict[tuple[int, int], DtmfEvent] = {}
    for i in range(len(packets)):
        payload = packets.payload(i)
        if len(payload) < 4:
            continue
        code, duration = payload[0], int.from_bytes(payload[2:4], "big")
        digit = DTMF_DIGITS[code] if code < len(DTMF_DIGITS) else f"event {code}"
        key = (int(packets.ssrc[i]), int(packets.ts[i]))
        known = events.get(key)
        ms = 1000.0 * duration / clock
        if known is None:
            events[key] = DtmfEvent(digit=digit, at=round(float(packets.arrival[i]) - t0, 3), duration_ms=ms)
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


TABLE_CHUNK = 4096  # packets looked up per step: bounds the index array (~5 MB at 160 bytes)


def _table_decode(packets: RtpPackets, rows: np.ndarray, at: np.ndarray, codec: Codec, pcm: np.ndarray) -> int:
    """G.711 for many packets at once: the payload bytes of a chunk of packets looked up in the
    table in one step, then written in packet order, packets that follow each other on the
    clock as one slice (samples outside the call are dropped). Returns how many payloads were
    refused (too long)."""
    assert codec.table is not None
    start, end = packets.start[rows], packets.end[rows]
    fits = end - start <= codec.max_samples()
    start, at = start[fits], at[fits]
    lengths = end[fits] - start
    for lo in range(0, len(start), TABLE_CHUNK):
        size = lengths[lo: lo + TABLE_CHUNK]
        offset = np.cumsum(size) - size  # where each packet's samples begin in the chunk's
        source = np.repeat(start[lo: lo + TABLE_CHUNK] - offset, size) + np.arange(int(size.sum()))
        _write_runs(pcm, at[lo: lo + TABLE_CHUNK], size, offset, codec.table[packets.data[source]])
    return int((~fits).sum())


def _write_runs(pcm: np.ndarray, at: np.ndarray, size: np.ndarray, offset: np.ndarray, samples: np.ndarray) -> None:
    """Packet k's samples (`samples[offset[k]:][:size[k]]`) written at `pcm[at[k]:]` in packet
    order: a run of packets that follow each other on the clock as one slice."""
    if not len(at):
        return
    breaks = np.flatnonzero(at[1:] != at[:-1] + size[:-1]) + 1
    firsts = np.concatenate([[0], breaks]).tolist()
    stops = [*breaks.tolist(), len(at)]
    for first, stop in zip(firsts, stops, strict=True):
        begin, count = int(at[first]), int(offset[stop - 1] + size[stop - 1] - offset[first])
        lo, hi = max(begin, 0), min(begin + count, len(pcm))
        if hi > lo:
            base = int(offset[first]) - begin
            pcm[lo:hi] = samples[base + lo: base + hi]


def _place_one(packets: RtpPackets, i: int, at: int, codec: Codec, rate: int, out: DirectionAudio,
               pcm: np.ndarray) -> None:
    try:
        samples = codec.decode(packets.payload(i))
    except ValueError:
        out.bad_packets += 1
        return
    if codec.rate != rate:
        samples = _resample(samples, codec.rate, rate)
    lo, hi = max(at, 0), min(at + len(samples), len(pcm))
    if hi > lo:
        pcm[lo:hi] = samples[lo - at: hi - at]


def _place(packets: RtpPackets, rows: np.ndarray, decoders: _Decoders, out: DirectionAudio,
           rate: int, t0: float, pcm: np.ndarray) -> Segment:
    """Decode one segment into `pcm` at its place on the call's clock."""
    seq, ts = _unwrap(packets.seq[rows], 16), _unwrap(packets.ts[rows], 32)
    clock = decoders.rtpmap.get(int(packets.pt[rows[0]]), ("", 8000, 1))[1]
    arrival = packets.arrival[rows]
    anchor = float(np.min(arrival - (ts - ts[0]) / clock))  # the least-delayed packet sets the clock
    order = np.argsort(seq, kind="stable")
    unique = np.concatenate([[True], np.diff(seq[order]) != 0])
    reordered = int(np.sum(seq < np.maximum.accumulate(seq)))
    playing = order[unique]
    at = np.round((anchor + (ts[playing] - ts[0]) / clock - t0) * rate).astype(np.int64)
    names: list[str] = []
    pts = packets.pt[rows][playing]
    for pt in dict.fromkeys(pts.tolist()):
        codec = decoders.get(pt)
        if codec is None:
            continue
        names.append(codec.name)
        mine = np.flatnonzero(pts == pt)
        if codec.table is not None and codec.rate == rate:
            out.bad_packets += _table_decode(packets, rows[playing[mine]], at[mine], codec, pcm)
            continue
        for k in mine.tolist():  # stateful decoders: in sequence order, one packet at a time
            _place_one(packets, int(rows[playing[k]]), int(at[k]), codec, rate, out, pcm)
    span = int(seq[order][-1] - seq[order][0] + 1)
    lost = max(0, span - int(unique.sum()))
    steps = np.diff(ts[playing])
    packet_s = float(np.median(steps[steps > 0])) / clock if np.any(steps > 0) else 0.02
    return Segment(ssrc=int(packets.ssrc[rows[0]]), start=round(anchor - t0, 4),
                   end=round(float(arrival.max()) - t0, 4), codecs=names, packets=len(rows),
                   lost=lost, lost_ms=round(1000 * lost * packet_s, 1),
                   duplicates=int(len(rows) - unique.sum()), reordered=reordered)


def _resample(pcm: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    n = len(pcm) * rate_out // rate_in
    return np.interp(np.arange(n) * rate_in / rate_out, np.arange(len(pcm)), pcm).astype(np.int16)


def _output_rate(pts: list[int], rtpmap: dict[int, tuple[str, int, int]]) -> int:
    rates = [8000]
    for pt in pts:
        enc = rtpmap.get(pt)
        if enc is not None:
            with_rate = {"G722": 16000, "OPUS": 16000}.get(enc[0].upper(), enc[1])
            rates.append(with_rate if with_rate <= 48000 else 8000)
    return max(rates)


def _pts_of(rtpmap: dict[int, tuple[str, int, int]], kinds: set[str]) -> np.ndarray:
    return np.array([pt for pt, enc in rtpmap.items() if enc[0].upper() in kinds], np.int64)


def assemble(packets: RtpPackets, rtpmap: dict[int, tuple[str, int, int]],
             t0: float, end: float) -> DirectionAudio:
    """The direction's audio from `t0` (the call's start) to `end` (epoch seconds)."""
    is_event = np.isin(packets.pt, _pts_of(rtpmap, EVENTS))
    is_noise = np.isin(packets.pt, _pts_of(rtpmap, COMFORT_NOISE))
    voice = packets.select(~is_event & ~is_noise)
    rate = _output_rate(sorted(set(voice.pt.tolist())), rtpmap)
    length = max(0.0, min(end - t0, MAX_CALL_S))
    out = DirectionAudio(rate=rate, pcm=np.zeros(int(length * rate), np.int16),
                         flowing=np.zeros(int(np.ceil(length / FRAME_S)) + 1, bool))
    if is_event.any():
        events = packets.select(is_event)
        out.dtmf = dtmf_events(events, rtpmap[int(events.pt[0])][1], t0)
    decoders = _Decoders(rtpmap, out)
    clock_of = {pt: enc[1] for pt, enc in rtpmap.items()}
    for rows in split_segments(voice, clock_of):
        out.segments.append(_place(voice, rows, decoders, out, rate, t0, out.pcm))
    out.comfort_noise = int(is_noise.sum())
    _mark_flowing(out.flowing, packets.arrival[~is_event], t0)
    return out


def _mark_flowing(flowing: np.ndarray, arrival: np.ndarray, t0: float) -> None:
    """Frames within two packet intervals of an arrival count as 'packets flowing'."""
    if not len(arrival) or not len(flowing):
        return
    frames = ((arrival - t0) / FRAME_S).astype(np.int64)
    frames = frames[(frames >= 0) & (frames < len(flowing))]
    for shift in range(-2, 3):  # a 20 ms packet covers its own frame and its neighbours
        flowing[np.clip(frames + shift, 0, len(flowing) - 1)] = True
