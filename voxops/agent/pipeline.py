"""The pipeline interface: caller audio in, agent audio out, one 20 ms frame at a time.

A pipeline is the team's ASR -> LLM -> TTS chain. The agent loads it from `module:Class`
(or a built-in name), constructs it once with the agent config, and opens one session per
answered call. Audio is 16-bit signed little-endian mono PCM at `CallContext.clock_rate`.

Threading contract: `on_audio` and `next_audio` run on the media (conference) thread every
20 ms and must return within a millisecond or two; hand work to your own threads or
asyncio loop and exchange frames through queues. `on_dtmf`, `close` and `overloaded` run
on the SIP thread. None of them may call pjsua2.
"""

from __future__ import annotations

import collections
import importlib
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path

from voxops.agent.config import AgentConfig
from voxops.agent.metrics import AgentMetrics
from voxops.agent.session import CallContext, Pipeline, Session
from voxops.errors import EnvironmentProblem, InvalidInput

__all__ = ["BUILTIN", "CallContext", "Pipeline", "Session", "load_pipeline"]


class EchoSession:
    """Plays the caller's audio back after a fixed delay (a loopback test for the media path)."""

    def __init__(self, call: CallContext, delay_ms: int) -> None:
        self._call = call
        self._delay_s = delay_ms / 1000.0
        self._queue: collections.deque[tuple[float, bytes]] = collections.deque(maxlen=500)

    def on_audio(self, pcm: bytes) -> None:
        self._queue.append((time.monotonic(), pcm))

    def next_audio(self) -> bytes | None:
        if not self._queue:
            return None
        received, pcm = self._queue[0]
        now = time.monotonic()
        if now - received < self._delay_s:
            return None
        self._queue.popleft()
        self._call.report_latency(now - received)
        return pcm

    def on_dtmf(self, digit: str) -> None:
        pass

    def close(self) -> None:
        self._queue.clear()


class EchoPipeline:
    def __init__(self, config: AgentConfig) -> None:
        self._delay_ms = config.echo_delay_ms

    def open(self, call: CallContext) -> Session:
        return EchoSession(call, self._delay_ms)

    def overloaded(self) -> bool:
        return False

    def close(self) -> None:
        pass


def read_wav(path: Path, clock_rate: int) -> bytes:
    """16-bit mono PCM samples of a WAV file at the bridge's clock rate."""
    try:
        with wave.open(str(path), "rb") as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1:
                raise InvalidInput(f"{path}: expected 16-bit mono PCM WAV")
            if w.getframerate() != clock_rate:
                raise InvalidInput(f"{path}: sample rate {w.getframerate()} Hz, expected {clock_rate} Hz")
            return w.readframes(w.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise InvalidInput(f"{path}: cannot read WAV: {exc}") from None


def tone(clock_rate: int, freqs: tuple[float, ...], ms: int, gap_ms: int = 0, level: float = 0.25) -> bytes:
    """A synthesised tone (sum of sines), for prompts when no WAV is configured."""
    import numpy as np

    n = clock_rate * ms // 1000
    t = np.arange(n) / clock_rate
    signal = sum(np.sin(2 * np.pi * f * t) for f in freqs) / max(len(freqs), 1)
    pcm = (np.asarray(signal) * level * 32767).astype("<i2").tobytes()
    return pcm + b"\x00\x00" * (clock_rate * gap_ms // 1000)


class AudioCursor:
    """Hands out a PCM buffer frame by frame (zero-padded at the end)."""

    def __init__(self, pcm: bytes, frame_bytes: int) -> None:
        self._pcm = pcm
        self._frame = frame_bytes
        self._pos = 0

    @property
    def done(self) -> bool:
        return self._pos >= len(self._pcm)

    def next(self) -> bytes | None:
        if self.done:
            return None
        chunk = self._pcm[self._pos : self._pos + self._frame]
        self._pos += self._frame
        return chunk.ljust(self._frame, b"\x00")


class PromptSession:
    """Plays the greeting, then records the caller to `<record_dir>/<call_id>.wav`."""

    def __init__(self, call: CallContext, greeting: bytes, record_dir: Path | None) -> None:
        self._cursor = AudioCursor(greeting, call.frame_bytes)
        self._lock = threading.Lock()
        self._wav: wave.Wave_write | None = None
        self.path: Path | None = None
        if record_dir is not None:
            record_dir.mkdir(parents=True, exist_ok=True)
            safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in call.call_id)[:80]
            self.path = record_dir / f"{safe}.wav"
            self._wav = wave.open(str(self.path), "wb")  # noqa: SIM115 - open for the call's life
            self._wav.setnchannels(1)
            self._wav.setsampwidth(2)
            self._wav.setframerate(call.clock_rate)

    def on_audio(self, pcm: bytes) -> None:
        with self._lock:
            if self._wav is not None:
                self._wav.writeframesraw(pcm)

    def next_audio(self) -> bytes | None:
        return self._cursor.next()

    def on_dtmf(self, digit: str) -> None:
        pass

    def close(self) -> None:
        with self._lock:
            if self._wav is not None:
                self._wav.close()
                self._wav = None


class PromptPipeline:
    def __init__(self, config: AgentConfig) -> None:
        self._rate = config.clock_rate
        self._record_dir = Path(config.record_dir) if config.record_dir else None
        if config.greeting_wav:
            self._greeting = read_wav(Path(config.greeting_wav), self._rate)
        else:
            self._greeting = tone(self._rate, (440.0, 660.0), 600, gap_ms=200) * 2

    def open(self, call: CallContext) -> Session:
        return PromptSession(call, self._greeting, self._record_dir)

    def overloaded(self) -> bool:
        return False

    def close(self) -> None:
        pass


def _websocket(config: AgentConfig, metrics: AgentMetrics | None) -> Pipeline:
    from voxops.agent.wsbridge import WebsocketPipeline

    return WebsocketPipeline(config, metrics)


BUILTIN: dict[str, Callable[[AgentConfig, AgentMetrics | None], Pipeline]] = {
    "echo": lambda config, _: EchoPipeline(config),
    "prompt": lambda config, _: PromptPipeline(config),
    "websocket": _websocket,
}


def load_pipeline(config: AgentConfig, metrics: AgentMetrics | None = None) -> Pipeline:
    """The pipeline named in the config: a built-in, or `module:Class` called with the config."""
    spec = config.pipeline
    if spec in BUILTIN:
        return BUILTIN[spec](config, metrics)
    module_name, _, class_name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidInput(f"pipeline {spec}: cannot import {module_name}: {exc}") from None
    factory = getattr(module, class_name, None)
    if factory is None:
        raise InvalidInput(f"pipeline {spec}: {module_name} has no {class_name}")
    try:
        pipeline = factory(config)
    except Exception as exc:  # noqa: BLE001 - user code: report it, do not crash with a traceback
        raise EnvironmentProblem(f"pipeline {spec} failed to start: {type(exc).__name__}: {exc}") from None
    missing = [m for m in ("open", "overloaded", "close") if not callable(getattr(pipeline, m, None))]
    if missing:
        raise InvalidInput(f"pipeline {spec}: missing method(s) {', '.join(missing)}")
    return pipeline  # type: ignore[no-any-return]
