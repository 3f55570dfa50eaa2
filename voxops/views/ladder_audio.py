"""The energy lanes `voxops ladder --audio` draws under the message arrows: one lane per
direction with its level over the call's time, its talk spurts and the agent's measured
response gaps; the HTML ladder also embeds each direction's audio to play.

Times are the ladder's (`t+` seconds from its first message). The embedded audio is 8 kHz
16-bit mono WAV, at most EMBED_MAX_S seconds per direction (the rest is left out, and the
page says so); it goes in as a base64 data URI, which holds no character HTML could read.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from voxops.analysis.ladder import Ladder
    from voxops.audio.call import CallAudio

MAX_POINTS = 1500  # level samples drawn per lane (the frames are folded to their loudest)
EMBED_RATE = 8000
EMBED_MAX_S = 300.0  # per direction: ~4.8 MB of WAV, 6.4 MB in the page
FLOOR_DBFS = -70.0  # the bottom of a lane
SPURT_COLOUR = "#4c6ef5"
SLOW_COLOUR = "#c0262d"
GAP_COLOUR = "#1b7f3a"


@dataclass(frozen=True)
class EnergyLane:
    label: str  # "caller 10.2.0.1:40000 \u2192 agent"
    role: str
    times: np.ndarray  # t+ seconds of each level point
    level: np.ndarray  # dBFS, clipped to FLOOR_DBFS
    spurts: list[tuple[float, float]]  # t+ seconds
    wav: bytes = b""  # what the HTML embeds (empty: nothing decoded)
    embedded_s: float = 0.0
    length_s: float = 0.0


@dataclass(frozen=True)
class Gap:
    caller_end: float  # t+ seconds
    agent_start: float
    latency_ms: float
    slow: bool  # above the response-latency SLO


@dataclass(frozen=True)
class AudioTrack:
    lanes: list[EnergyLane]
    gaps: list[Gap]
    end: float  # t+ seconds of the last audio
    notes: list[str] = field(default_factory=list)


def _folded(level: np.ndarray, frame_s: float, offset: float) -> tuple[np.ndarray, np.ndarray]:
    """At most MAX_POINTS points: each the loudest of its frames (a word never disappears)."""
    if not len(level):
        return np.zeros(0), np.zeros(0)
    step = max(1, -(-len(level) // MAX_POINTS))
    padded = np.full(-(-len(level) // step) * step, FLOOR_DBFS, np.float32)
    padded[: len(level)] = np.maximum(level, FLOOR_DBFS)
    loudest = padded.reshape(-1, step).max(axis=1)
    return offset + np.arange(len(loudest)) * step * frame_s, loudest


def _embedded(pcm: np.ndarray, rate: int) -> tuple[bytes, float]:
    from voxops.audio.report import wav_bytes

    if not len(pcm):
        return b"", 0.0
    if rate != EMBED_RATE:
        n = len(pcm) * EMBED_RATE // rate
        pcm = np.interp(np.arange(n) * rate / EMBED_RATE, np.arange(len(pcm)), pcm).astype(np.int16)
    kept = pcm[: int(EMBED_MAX_S * EMBED_RATE)]
    return wav_bytes([kept], EMBED_RATE), len(kept) / EMBED_RATE


def audio_track(call: CallAudio, ladder: Ladder, slow_ms: float) -> AudioTrack:
    """The call's decoded audio on the ladder's clock."""
    from voxops.audio.timeline import FRAME_S

    offset = call.start - ladder.start
    lanes, notes = [], []
    for role, side in call.sides.items():
        other = "agent" if role == "caller" else "caller"
        times, level = _folded(side.voice.level_dbfs, FRAME_S, offset)
        decoded = any(seg.codecs for seg in side.audio.segments)
        wav, kept = _embedded(side.audio.pcm, side.audio.rate) if decoded else (b"", 0.0)
        length = len(side.audio.pcm) / side.audio.rate
        if decoded and kept < length - 0.01:
            notes.append(f"{role}: the first {kept:.0f} s of {length:.0f} s embedded (`voxops audio` writes all)")
        lanes.append(EnergyLane(f"{role} {side.address or '-'} \u2192 {other}", role, times, level,
                                [(s.start + offset, s.end + offset) for s in side.voice.spurts],
                                wav, kept, length))
    gaps = [Gap(t.caller_end + offset, t.agent_start + offset, t.latency_ms, t.latency_ms > slow_ms)
            for t in call.conversation.turns]
    end = max((lane.length_s for lane in lanes), default=0.0) + offset
    return AudioTrack(lanes, gaps, end, notes)


def draw_energy(ax: Axes, track: AudioTrack, lane: EnergyLane, *, show_gaps: bool) -> None:
    """One lane in matplotlib: the level, the talk spurts shaded, the response gaps bracketed."""
    from voxops.text.safe_text import PLOT_TEXT, visible

    ax.fill_between(lane.times, FLOOR_DBFS, lane.level, step="post", color="#868e96", lw=0, gid="energy")
    for start, end in lane.spurts:
        ax.axvspan(start, end, color=SPURT_COLOUR, alpha=0.18, lw=0, gid="talk-spurt")
    if show_gaps:
        for g in track.gaps:
            colour = SLOW_COLOUR if g.slow else GAP_COLOUR
            ax.annotate("", xy=(g.agent_start, -8), xytext=(g.caller_end, -8), gid="response-gap",
                        arrowprops=dict(arrowstyle="|-|", color=colour, lw=1, mutation_scale=3))
            ax.text((g.caller_end + g.agent_start) / 2, -4, f"{g.latency_ms:.0f} ms", ha="center", va="bottom",
                    fontsize=6.5, color=colour, gid="response-gap-label", **PLOT_TEXT)
    ax.set_xlim(0, max(track.end, 1.0))
    ax.set_ylim(FLOOR_DBFS, 6)
    ax.set_yticks([FLOOR_DBFS, -40, -10])
    ax.tick_params(labelsize=6.5)
    ax.set_ylabel("dBFS", fontsize=7)
    ax.set_title(visible(lane.label) + ("" if lane.wav else " (not decoded)"), fontsize=8, loc="left", **PLOT_TEXT)


def _svg_lane(track: AudioTrack, lane: EnergyLane, width: int, top: int, height: int, left: int) -> str:
    from voxops.text.safe_text import html_text as escape

    span = max(track.end, 1.0)

    def x(t: float) -> float:
        return round(left + (width - left - 12) * t / span, 1)

    def y(db: float) -> float:
        return round(top + height * (6 - db) / (6 - FLOOR_DBFS), 1)

    out = [f'<text class="meta" x="{left}" y="{top - 4}">{escape(lane.label)}</text>',
           f'<rect x="{left}" y="{top}" width="{width - left - 12}" height="{height}" fill="#f8f9fa" stroke="#ddd"/>']
    out += [f'<rect class="talk-spurt" x="{x(a)}" y="{top}" width="{max(x(b) - x(a), 0.5)}" height="{height}" '
            f'fill="{SPURT_COLOUR}" fill-opacity="0.18"/>' for a, b in lane.spurts]
    if len(lane.times):
        points = " ".join(f"{x(float(t))},{y(float(v))}" for t, v in zip(lane.times, lane.level, strict=True))
        out.append(f'<polyline class="energy" points="{points}" fill="none" stroke="#495057" stroke-width="1"/>')
    if lane.role == "agent":
        for g in track.gaps:
            colour = SLOW_COLOUR if g.slow else GAP_COLOUR
            out.append(f'<g class="response-gap"><line x1="{x(g.caller_end)}" y1="{top + 6}" x2="{x(g.agent_start)}" '
                       f'y2="{top + 6}" stroke="{colour}" stroke-width="2"/><text x="{x(g.caller_end)}" '
                       f'y="{top + 18}" font-size="10" fill="{colour}">{g.latency_ms:.0f} ms</text></g>')
    return "\n".join(out)


LANE_PX = 64


def energy_svg(track: AudioTrack, width: int, top: int, left: int) -> tuple[str, int]:
    """The lanes as SVG from `top`; returns the markup and the height used."""
    parts, y = [], top + 16
    for lane in track.lanes:
        parts.append(_svg_lane(track, lane, width, y, LANE_PX - 22, left))
        y += LANE_PX
    return "\n".join(parts), y - top


def players_html(track: AudioTrack) -> str:
    """An audio player per decoded direction, its WAV inline."""
    from voxops.text.safe_text import html_text as escape

    rows = []
    for lane in track.lanes:
        if not lane.wav:
            rows.append(f"<p>{escape(lane.label)}: not decoded</p>")
            continue
        data = base64.b64encode(lane.wav).decode("ascii")
        rows.append(f'<p><span class="meta">{escape(lane.label)} ({lane.embedded_s:.1f} s)</span><br>'
                    f'<audio class="direction" controls preload="metadata" src="data:audio/wav;base64,{data}"></audio></p>')
    rows += [f'<p class="meta">{escape(n)}</p>' for n in track.notes]
    return '<div id="audio" style="padding: 0 8px">' + "\n".join(rows) + "</div>"
