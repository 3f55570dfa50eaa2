"""The JSON summary of `voxops audio` and the WAV files it writes (built in memory, pure)."""

from __future__ import annotations

import hashlib
import io
import re
import wave

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from voxops.audio.call import SIDES, CallAudio
from voxops.audio.conversation import Conversation, Interval, Thresholds
from voxops.audio.timeline import FRAME_S, DtmfEvent, Segment


class SideReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str = Field(description="caller (sent the INVITE) or agent (answered it)")
    source: str | None = Field(description="ip:port the RTP came from")
    wav: str | None = Field(description="the WAV file written for this side (null with --stereo or no audio)")
    sample_rate: int
    packets: int
    decoded: bool = Field(description="some of this side's audio could be decoded")
    lost_packets: int
    lost_ms: float = Field(description="audio missing from sequence gaps, written as silence")
    duplicates: int
    reordered: int
    bad_packets: int = Field(description="payloads a decoder refused (malformed or too long)")
    comfort_noise_packets: int
    segments: list[Segment] = Field(description="one per SSRC and unbroken timeline")
    undecodable: dict[str, str] = Field(description="codec -> why it was not decoded")
    dtmf: list[DtmfEvent]
    talk_s: float
    talk_spurts: list[Interval]
    noise_floor_dbfs: float
    clipped_percent: float


class AudioReport(BaseModel):
    """JSON of `voxops audio`; field names are a public interface (docs/audio.md)."""

    model_config = ConfigDict(extra="forbid")
    call_id: str
    start: float = Field(description="epoch seconds of the call's first message: time 0 of every WAV")
    answered: float | None = Field(description="seconds from the start to the 200 OK")
    ended: float | None = Field(description="seconds from the start to the BYE")
    duration_s: float = Field(description="length of the audio written")
    holds: list[Interval]
    stereo: str | None = Field(description="the stereo WAV (caller left, agent right) with --stereo")
    thresholds: dict[str, float]
    sides: list[SideReport]
    conversation: Conversation


def safe_stem(call_id: str) -> str:
    """A file-name stem for a Call-ID (which may hold '/', '..' or control characters)."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", call_id).strip(".")[:60]
    if stem != call_id:
        stem = f"{stem or 'call'}-{hashlib.sha256(call_id.encode(errors='replace')).hexdigest()[:8]}"
    return stem


def wav_bytes(channels: list[np.ndarray], rate: int) -> bytes:
    """A 16-bit PCM WAV of equally long int16 channels."""
    n = max((len(c) for c in channels), default=0)
    frames = np.zeros((n, len(channels)), "<i2")
    for i, c in enumerate(channels):
        frames[: len(c), i] = c
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(len(channels))
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames.tobytes())
    return buf.getvalue()


def stereo_channels(call: CallAudio) -> tuple[list[np.ndarray], int]:
    """Caller and agent at one rate (the higher; the other linearly interpolated)."""
    rate = max(call.sides[s].audio.rate for s in SIDES)
    out = []
    for s in SIDES:
        audio = call.sides[s].audio
        pcm = audio.pcm
        if audio.rate != rate and len(pcm):
            n = len(pcm) * rate // audio.rate
            pcm = np.interp(np.arange(n) * audio.rate / rate, np.arange(len(pcm)), pcm).astype(np.int16)
        out.append(pcm)
    return out, rate


def build_report(call: CallAudio, files: dict[str, str], limits: Thresholds) -> AudioReport:
    sides = []
    for role in SIDES:
        side = call.sides[role]
        a, v = side.audio, side.voice
        sides.append(SideReport(
            role=role, source=side.address, wav=files.get(role), sample_rate=a.rate, packets=side.packets,
            decoded=any(seg.codecs for seg in a.segments),
            lost_packets=sum(s.lost for s in a.segments), lost_ms=round(sum(s.lost_ms for s in a.segments), 1),
            duplicates=sum(s.duplicates for s in a.segments), reordered=sum(s.reordered for s in a.segments),
            bad_packets=a.bad_packets, comfort_noise_packets=a.comfort_noise,
            segments=a.segments,
            undecodable=a.undecodable,
            dtmf=a.dtmf,
            talk_s=round(float(v.voiced.sum()) * FRAME_S, 2),
            talk_spurts=[Interval(start=s.start, end=s.end) for s in v.spurts],
            noise_floor_dbfs=v.noise_floor_dbfs, clipped_percent=v.clipped_percent))
    length = max(len(call.sides[s].audio.pcm) / call.sides[s].audio.rate for s in SIDES)
    return AudioReport(
        call_id=call.call_id, start=call.start, answered=call.answered, ended=call.ended,
        duration_s=round(length, 3), holds=call.holds, stereo=files.get("stereo"),
        thresholds={k: float(v) for k, v in vars(limits).items()}, sides=sides,
        conversation=call.conversation)
