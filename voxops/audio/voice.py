"""Voice activity from decoded audio: frame energy, talk spurts, digital silence, clipping.

An energy detector in numpy (no model, no extra dependency): a 10 ms frame is voiced when
its level is above both an absolute floor and the direction's own noise floor by a
margin. Short gaps inside speech are bridged (words are not turns) and isolated clicks
dropped; a spurt's end stays the end of its last voiced frame, so response gaps are
measured from real speech, not from the bridging.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxops.audio.timeline import FRAME_S

VOICE_FLOOR_DBFS = -42.0  # quieter than this is never speech on a telephone line
NOISE_MARGIN_DB = 12.0  # speech stands this far above the direction's own noise floor
WEAK_MARGIN_DB = 6.0  # a spurt's edges extend over frames this far above the noise floor
SILENCE_DBFS = -60.0  # below this a frame is (near) digital silence: mu-law 0xFF, A-law 0xD5
BRIDGE_S = 0.30  # gaps shorter than this inside speech are pauses between words
MIN_SPURT_S = 0.08  # voiced runs shorter than this are clicks, not speech
CLIP_LEVEL = 32000  # |sample| at or above: saturated
SILENT_LEVEL_DBFS = -200.0  # the level reported for a frame of zeros


@dataclass(frozen=True)
class Spurt:
    start: float  # seconds from the call's start
    end: float

    @property
    def length(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Voice:
    """What one direction's audio holds, frame by frame (FRAME_S each)."""

    level_dbfs: np.ndarray  # float32 per frame
    voiced: np.ndarray  # bool per frame, after bridging and click removal
    silent: np.ndarray  # bool per frame: digital silence
    spurts: list[Spurt]
    noise_floor_dbfs: float
    clipped_percent: float  # of the samples in voiced frames


def frame_levels(pcm: np.ndarray, rate: int) -> np.ndarray:
    """RMS level of each 10 ms frame in dBFS (a trailing partial frame is padded with zeros)."""
    size = max(1, round(rate * FRAME_S))
    frames = -(-len(pcm) // size)
    whole = len(pcm) // size
    power = np.zeros(frames, np.float64)
    body = pcm[: whole * size].reshape(whole, size)
    # each product cast as einsum goes (buffered): no float copy of the whole call
    power[:whole] = np.einsum("ij,ij->i", body, body, dtype=np.float64, casting="unsafe")
    if frames > whole:
        tail = pcm[whole * size:].astype(np.float32)
        power[whole] = float(np.dot(tail, tail))
    power /= size * 32768.0 * 32768.0
    with np.errstate(divide="ignore"):
        return np.maximum(10.0 * np.log10(power), SILENT_LEVEL_DBFS).astype(np.float32)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) frame indexes of the True runs of a boolean array."""
    if not len(mask):
        return []
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def _extend(voiced: np.ndarray, weak: np.ndarray) -> np.ndarray:
    """Each voiced run grown over the weaker frames around it (a word's soft onset and tail)."""
    out = voiced.copy()
    for a, b in runs(voiced):
        while a > 0 and weak[a - 1] and not out[a - 1]:
            a -= 1
            out[a] = True
        while b < len(out) and weak[b] and not out[b]:
            out[b] = True
            b += 1
    return out


def _smooth(raw: np.ndarray) -> np.ndarray:
    voiced = raw.copy()
    bridge, shortest = round(BRIDGE_S / FRAME_S), round(MIN_SPURT_S / FRAME_S)
    for a, b in runs(~voiced):
        if a > 0 and b < len(voiced) and b - a < bridge:
            voiced[a:b] = True
    for a, b in runs(voiced):
        if b - a < shortest:
            voiced[a:b] = False
    return voiced


def _clipped_percent(pcm: np.ndarray, rate: int, voiced: np.ndarray) -> float:
    """Share of the samples of voiced frames at full scale (a trailing partial frame left out)."""
    size = max(1, round(rate * FRAME_S))
    whole = min(len(pcm) // size, len(voiced))
    frames = np.flatnonzero(voiced[:whole])
    if not len(frames):
        return 0.0
    body = pcm[: whole * size].reshape(whole, size)[frames]
    hits = np.count_nonzero(body >= CLIP_LEVEL) + np.count_nonzero(body <= -CLIP_LEVEL)
    return 100.0 * hits / body.size


def detect_voice(pcm: np.ndarray, rate: int, flowing: np.ndarray | None = None) -> Voice:
    """Voiced frames and talk spurts; `flowing` (packets present per frame) sets the noise floor."""
    level = frame_levels(pcm, rate)
    if flowing is not None and len(flowing) != len(level):
        flowing = np.resize(flowing, len(level)) if len(flowing) else None
    heard = level[flowing] if flowing is not None and flowing.any() else level
    # digital silence between a bot's utterances counts: its floor is then the silence level,
    # not the quiet end of its own words (which would cut every word's tail)
    floor = max(SILENCE_DBFS, float(np.percentile(heard, 10))) if len(heard) else SILENCE_DBFS
    threshold = max(VOICE_FLOOR_DBFS, floor + NOISE_MARGIN_DB)
    weak = level > max(SILENCE_DBFS + 6.0, floor + WEAK_MARGIN_DB)
    voiced = _smooth(_extend(level > threshold, weak))
    spurts = [Spurt(round(a * FRAME_S, 3), round(b * FRAME_S, 3)) for a, b in runs(voiced)]
    clipped = _clipped_percent(pcm, rate, voiced)
    return Voice(level_dbfs=level, voiced=voiced, silent=level <= SILENCE_DBFS, spurts=spurts,
                 noise_floor_dbfs=round(floor, 1), clipped_percent=round(clipped, 3))
