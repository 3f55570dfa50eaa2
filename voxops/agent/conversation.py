"""The conversation measured live on a call's bridge port, 20 ms frame by frame.

Voice activity uses the thresholds of `voxops.audio.voice` (the detector `voxops audio`
runs on whole recordings): a frame is voiced above both VOICE_FLOOR_DBFS and the
direction's noise floor + NOISE_MARGIN_DB; a spurt starts after MIN_SPURT_S of voice and
ends BRIDGE_S after its last voiced frame (so its end is the end of real speech). That
detector estimates the noise floor from the whole call (a percentile); live, the floor
is tracked: it follows the level down at once and creeps up slowly while unvoiced.

Times are the media thread's callback times: a caller frame at the moment it reached
the pipeline, a bot frame at the moment it was handed to the caller's stream.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from voxops.agent.metrics import AgentMetrics
from voxops.audio.voice import (
    BRIDGE_S,
    MIN_SPURT_S,
    NOISE_MARGIN_DB,
    SILENCE_DBFS,
    VOICE_FLOOR_DBFS,
)

FRAME_S = 0.02
FLOOR_RISE_DB = 0.01  # per unvoiced frame: 0.5 dB/s, so speech never lifts the floor
BARGE_STOP_S = 1.0  # a bot still speaking this long after the caller cut in did not stop


def level_dbfs(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0
    if not len(samples):
        return -200.0
    power = float(np.mean(np.square(samples)))
    return max(10.0 * float(np.log10(power)), -200.0) if power > 0 else -200.0


class LiveVoice:
    """One direction's talk spurts, fed one frame at a time."""

    def __init__(self) -> None:
        self.floor = SILENCE_DBFS
        self.speaking = False
        self.last_voiced_end = 0.0  # end time of the last voiced frame
        self._run_start: float | None = None
        self._run_frames = 0
        self.onset_at = 0.0  # start time of the current spurt

    def feed(self, pcm: bytes | None, now: float) -> str | None:
        """'onset', 'offset' or None; `pcm` None is a frame with no audio at all."""
        level = level_dbfs(pcm) if pcm else -200.0
        voiced = level > max(VOICE_FLOOR_DBFS, self.floor + NOISE_MARGIN_DB)
        if not voiced:
            self.floor = max(SILENCE_DBFS, min(level, self.floor + FLOOR_RISE_DB))
            self._run_start, self._run_frames = None, 0
            if self.speaking and now - self.last_voiced_end >= BRIDGE_S:
                self.speaking = False
                return "offset"
            return None
        self.last_voiced_end = now
        if self._run_start is None:
            self._run_start = now - FRAME_S
        self._run_frames += 1
        if not self.speaking and self._run_frames * FRAME_S >= MIN_SPURT_S - 1e-9:
            self.speaking = True
            self.onset_at = self._run_start
            return "onset"
        return None


@dataclass
class CallSummary:
    """What one call's conversation looked like (the call record's `conversation`)."""

    turns: int = 0
    response_latency_ms: list[int] = field(default_factory=list)
    bot_underruns: int = 0
    dead_air_episodes: int = 0
    dead_air_s: float = 0.0
    barge_ins: int = 0
    barge_ins_bot_stopped: int = 0

    def as_record(self) -> dict[str, object]:
        lat = sorted(self.response_latency_ms)
        return {
            "turns": self.turns,
            "response_latency_ms": lat[-50:],
            "response_latency_p50_ms": lat[len(lat) // 2] if lat else None,
            "response_latency_max_ms": lat[-1] if lat else None,
            "bot_underruns": self.bot_underruns,
            "dead_air_episodes": self.dead_air_episodes,
            "dead_air_s": round(self.dead_air_s, 2),
            "barge_ins": self.barge_ins,
            "barge_ins_bot_stopped": self.barge_ins_bot_stopped,
        }


class ConversationMeter:
    """Response latency, bot underruns, dead air and barge-ins of one call."""

    def __init__(self, metrics: AgentMetrics, dead_air_s: float, now: float | None = None) -> None:
        self._metrics = metrics
        self._dead_air_s = dead_air_s
        self.caller = LiveVoice()
        self.bot = LiveVoice()
        self.summary = CallSummary()
        self._lock = threading.Lock()
        self._turn_open = False  # the caller spoke since the bot last started to answer
        self._barge_at: float | None = None
        self._bot_gap_from: float | None = None  # the bot's first frame without audio in a spurt
        self._last_activity = time.monotonic() if now is None else now
        self._dead_since: float | None = None

    def on_caller(self, pcm: bytes, now: float) -> None:
        with self._lock:
            event = self.caller.feed(pcm, now)
            if event == "onset":
                self._turn_open = True
                if self.bot.speaking:
                    self._barge_at = now
                    self.summary.barge_ins += 1
            self._check_dead_air(now)

    def on_bot(self, pcm: bytes | None, now: float) -> None:
        with self._lock:
            was_speaking = self.bot.speaking
            if was_speaking and pcm is None and self._bot_gap_from is None:
                self._bot_gap_from = now
            event = self.bot.feed(pcm, now)
            if pcm and self._bot_gap_from is not None and self.bot.last_voiced_end == now:
                if was_speaking and self.bot.speaking:
                    self.summary.bot_underruns += 1
                    self._metrics.bot_underruns_total.inc()
                self._bot_gap_from = None
            if event == "onset":
                self._answer(self.bot.onset_at)
            elif event == "offset":
                self._bot_gap_from = None
            self._resolve_barge_in(now)

    def _answer(self, onset: float) -> None:
        """The bot started a spurt at `onset`: an answer when the caller had spoken and was
        silent by then (the caller's spurt may not have ended yet: its end is only known
        BRIDGE_S later, and a fast bot answers sooner)."""
        end = self.caller.last_voiced_end
        if not self._turn_open or end > onset + 1e-9:  # nothing to answer, or talking over
            return
        self._turn_open = False
        latency = onset - end
        self.summary.turns += 1
        self.summary.response_latency_ms.append(round(latency * 1000))
        self._metrics.response_latency.observe(latency)

    def _resolve_barge_in(self, now: float) -> None:
        if self._barge_at is None:
            return
        # stopped: no bot voice for a spurt's bridging time after the caller cut in
        stopped = now - self.bot.last_voiced_end >= BRIDGE_S and self.bot.last_voiced_end < now
        if stopped or now - self._barge_at >= BARGE_STOP_S + BRIDGE_S:
            stopped = stopped and self.bot.last_voiced_end - self._barge_at <= BARGE_STOP_S
            self._metrics.barge_ins_total.inc(bot_stopped="yes" if stopped else "no")
            self.summary.barge_ins_bot_stopped += int(stopped)
            self._barge_at = None

    def _check_dead_air(self, now: float) -> None:
        last = max(self._last_activity, self.caller.last_voiced_end, self.bot.last_voiced_end)
        if now - last < self._dead_air_s:
            if self._dead_since is not None:
                self._end_dead_air(last)
            return
        if self._dead_since is None:
            self._dead_since = last
            self.summary.dead_air_episodes += 1
            self._metrics.dead_air_total.inc()

    def _end_dead_air(self, until: float) -> None:
        assert self._dead_since is not None
        seconds = max(0.0, until - self._dead_since)
        self.summary.dead_air_s += seconds
        self._metrics.dead_air_seconds_total.inc(seconds)
        self._dead_since = None

    def close(self, now: float) -> dict[str, object]:
        with self._lock:
            if self._dead_since is not None:
                self._end_dead_air(now)
            return self.summary.as_record()
