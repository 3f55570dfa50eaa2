"""Overflow IVR: play a prompt, collect a callback number by DTMF, store it, hang up.

The request is committed to SQLite (synchronous=FULL) before the confirmation starts
playing, so a caller who heard the confirmation has a request on disk.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel

from voxops.agent.config import IvrConfig
from voxops.agent.pipeline import AudioCursor, CallContext, read_wav, tone
from voxops.errors import EnvironmentProblem

_SCHEMA = """
CREATE TABLE IF NOT EXISTS callback_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    agent TEXT NOT NULL,
    call_id TEXT NOT NULL,
    caller TEXT NOT NULL,
    number TEXT NOT NULL,
    reason TEXT NOT NULL
)
"""


class CallbackRequest(BaseModel):
    id: int
    created_at: str
    agent: str
    call_id: str
    caller: str
    number: str
    reason: str


class CallbackStore:
    """Durable callback requests; used from the SIP thread only."""

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise EnvironmentProblem(f"callback database {path}: {exc}") from None
        self._lock = threading.Lock()

    def add(self, *, agent: str, call_id: str, caller: str, number: str, reason: str) -> int:
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        with self._lock:
            cur = self._db.execute("BEGIN IMMEDIATE")
            cur = self._db.execute(
                "INSERT INTO callback_requests (created_at, agent, call_id, caller, number, reason)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (now, agent, call_id, caller, number, reason),
            )
            self._db.execute("COMMIT")
            return int(cur.lastrowid or 0)

    def all(self) -> list[CallbackRequest]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, created_at, agent, call_id, caller, number, reason FROM callback_requests ORDER BY id"
            ).fetchall()
        keys = ("id", "created_at", "agent", "call_id", "caller", "number", "reason")
        return [CallbackRequest(**dict(zip(keys, r, strict=True))) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class IvrState(StrEnum):
    prompting = "prompting"
    collecting = "collecting"
    confirming = "confirming"
    failing = "failing"
    finished = "finished"


class IvrAudio:
    """The IVR's sounds at the bridge clock rate: a WAV prompt or synthesised tones."""

    def __init__(self, config: IvrConfig, clock_rate: int) -> None:
        if config.prompt_wav:
            self.prompt = read_wav(Path(config.prompt_wav), clock_rate)
        else:
            self.prompt = tone(clock_rate, (480.0, 620.0), 400, gap_ms=100) * 2
        self.confirm = tone(clock_rate, (1000.0,), 150, gap_ms=80) * 3
        self.failed = tone(clock_rate, (400.0,), 700, gap_ms=100)


class IvrSession:
    """One IVR call. Audio methods run on the media thread, the rest on the SIP thread."""

    def __init__(
        self,
        call: CallContext,
        config: IvrConfig,
        audio: IvrAudio,
        store: CallbackStore,
        *,
        agent: str,
        reason: str,
        on_stored: Callable[[], None] | None = None,
    ) -> None:
        self._call = call
        self._config = config
        self._audio = audio
        self._store = store
        self._agent = agent
        self.reason = reason
        self._on_stored = on_stored
        self.digits = ""
        self.request_id: int | None = None
        self.state = IvrState.prompting
        self._cursor: AudioCursor | None = AudioCursor(audio.prompt, call.frame_bytes)
        self._started = time.monotonic()
        self._last_input = self._started

    # media thread
    def on_audio(self, pcm: bytes) -> None:
        pass

    def next_audio(self) -> bytes | None:
        cursor = self._cursor
        return cursor.next() if cursor is not None else None

    # SIP thread
    def on_dtmf(self, digit: str) -> None:
        if self.state not in (IvrState.prompting, IvrState.collecting):
            return
        self._last_input = time.monotonic()
        if self.state is IvrState.prompting:  # barge-in: a digit stops the prompt
            self.state, self._cursor = IvrState.collecting, None
        if digit == "#":
            self._finish()
        elif digit.isdigit():
            self.digits += digit
            if len(self.digits) >= self._config.max_digits:
                self._finish()

    def tick(self) -> None:
        now = time.monotonic()
        if self.state is IvrState.prompting and self._cursor is not None and self._cursor.done:
            self.state, self._cursor, self._last_input = IvrState.collecting, None, now
        elif self.state is IvrState.collecting and now - self._last_input > self._config.digit_timeout_s:
            self._finish()
        elif self.state in (IvrState.confirming, IvrState.failing) and (
            self._cursor is None or self._cursor.done
        ):
            self.state = IvrState.finished
            self._call.hangup()
        if self.state is not IvrState.finished and now - self._started > self._config.max_duration_s:
            self.state = IvrState.finished
            self._call.hangup()

    def _finish(self) -> None:
        if len(self.digits) < self._config.min_digits:
            self.state = IvrState.failing
            self._cursor = AudioCursor(self._audio.failed, self._call.frame_bytes)
            return
        # durable first: the confirmation only plays once the row is committed
        self.request_id = self._store.add(
            agent=self._agent,
            call_id=self._call.call_id,
            caller=self._call.remote_uri,
            number=self.digits,
            reason=self.reason,
        )
        if self._on_stored is not None:
            self._on_stored()
        self.state = IvrState.confirming
        self._cursor = AudioCursor(self._audio.confirm, self._call.frame_bytes)

    def close(self) -> None:
        self._cursor = None
