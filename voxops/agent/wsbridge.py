"""The `websocket` pipeline: each answered call bridged to a bot over Media Streams.

One asyncio loop on its own thread holds every call's WebSocket. The media thread never
waits on it: caller frames go into a bounded deque (`on_audio`), bot audio comes out of
a bounded jitter buffer (`next_audio`), and the loop is woken with `call_soon_threadsafe`.
Every way a bot can fail ends in one defined outcome, counted in
`voxops_agent_bot_outcomes_total{outcome}`:

- stop: the call ended; `stop` was sent and the socket closed.
- closed: the bot closed the socket: the call is hung up (or handed to the IVR, `on_close: ivr`).
- connect_failed: no WebSocket within connect_timeout_s (refused, TLS, HTTP status, timeout).
- silent: no message from the bot for silence_timeout_s.
- protocol_errors: max_bad_messages messages that break the protocol.
The last three go to the IVR (`on_failure: ivr`, when the agent has one) or hang up.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxops.agent import mediastream as ms
from voxops.agent.config import AgentConfig
from voxops.agent.log import log
from voxops.agent.metrics import AgentMetrics
from voxops.agent.session import CallContext
from voxops.errors import EnvironmentProblem, InvalidInput
from voxops.spec.models import BotAuth, WebsocketBot

UP_QUEUE_FRAMES = 50  # 1 s of caller audio waiting for the socket; older frames are dropped
MAX_PENDING_MARKS = 256
MAX_DTMF_QUEUED = 32
BYTES_PER_MS = ms.RATE * 2 // 1000


@dataclass(frozen=True)
class Outcome:
    kind: str  # stop | closed | connect_failed | silent | protocol_errors
    reason: str
    to_ivr: bool = False


def read_auth(auth: BotAuth | None) -> dict[str, str]:
    """The upgrade request's auth header, its value read from the environment or a file."""
    if auth is None:
        return {}
    ref = auth.value
    if ref.env is not None:
        value = os.environ.get(ref.env)
        if value is None:
            raise EnvironmentProblem(f"websocket auth: environment variable {ref.env} is not set")
    else:
        assert ref.file is not None
        try:
            value = Path(ref.file).read_text().strip()
        except OSError as exc:
            raise EnvironmentProblem(f"websocket auth: cannot read {ref.file}: {exc.strerror}") from None
    if not value or any(ch in value for ch in "\r\n\0"):
        raise InvalidInput("websocket auth: the secret is empty or spans lines")
    return {auth.header: value}


class WebsocketPipeline:
    """Built-in pipeline `websocket`: one loop thread, one WebSocket per call."""

    def __init__(self, config: AgentConfig, metrics: AgentMetrics | None = None) -> None:
        if config.websocket is None:
            raise InvalidInput("pipeline websocket needs a websocket section (url)")
        if config.clock_rate != ms.RATE:
            raise InvalidInput("pipeline websocket: clock_rate must be 8000 (Media Streams is 8 kHz)")
        try:
            import websockets  # noqa: F401 - fail at start-up, not on the first call
        except ImportError:
            raise EnvironmentProblem("pipeline websocket needs the websockets package (voxops[agent])") from None

        self.bot: WebsocketBot = config.websocket
        self.headers = read_auth(self.bot.auth)
        self.metrics = metrics or AgentMetrics()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="voxops-bot", daemon=True)
        self._thread.start()

    def open(self, call: CallContext) -> WebsocketSession:
        return WebsocketSession(self, call)

    def overloaded(self) -> bool:
        return False

    def close(self) -> None:
        """Cancel every session and wait (2 s at most) for their sockets to close."""

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=1.5) if tasks else None

        if self.loop.is_closed():
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(timeout=2.0)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=2.0)
        if not self._thread.is_alive():
            self.loop.close()


class WebsocketSession:
    """One call's side of the bridge (see the module docstring for the threads)."""

    def __init__(self, bridge: WebsocketPipeline, call: CallContext) -> None:
        self._bot = bridge.bot
        self._headers = bridge.headers
        self._metrics = bridge.metrics
        self._loop = bridge.loop
        self._call = call
        self._ids = ms.StreamIds(call.call_id)
        self._frame = call.frame_bytes
        self._up: collections.deque[bytes] = collections.deque(maxlen=UP_QUEUE_FRAMES)
        self._dtmf: collections.deque[str] = collections.deque(maxlen=MAX_DTMF_QUEUED)
        self._marks_due: collections.deque[str] = collections.deque()
        self._wake = asyncio.Event()
        self._poked = False
        self._closing = False
        self._lock = threading.Lock()  # the jitter buffer, its marks and counters
        self._play = bytearray()
        self._marks: collections.deque[tuple[int, str]] = collections.deque()
        self._enqueued = 0  # bytes ever accepted into the buffer (where marks sit)
        self._played = 0
        self._first_at = 0.0
        self._playing = False
        self._max_bytes = self._bot.buffer_ms * BYTES_PER_MS
        self._prebuffer = self._bot.prebuffer_ms * BYTES_PER_MS
        self.bad_messages = 0
        self.outcome: Outcome | None = None
        self.future = asyncio.run_coroutine_threadsafe(self._run(), self._loop)

    # --- media thread -----------------------------------------------------------------

    def on_audio(self, pcm: bytes) -> None:
        if not self._closing:
            self._up.append(pcm)
            self._poke()

    def next_audio(self) -> bytes | None:
        with self._lock:
            if not self._play:
                self._playing = False
                return None
            if not self._playing:
                waited = time.monotonic() - self._first_at
                if len(self._play) < self._prebuffer and waited < self._bot.prebuffer_ms / 1000:
                    return None
                self._playing = True
            chunk = bytes(self._play[: self._frame])
            del self._play[: self._frame]
            self._played += len(chunk)
            due = self._take_due_marks()
        if due:
            self._poke()
        return chunk.ljust(self._frame, b"\x00")

    def _take_due_marks(self) -> bool:
        due = False
        while self._marks and self._marks[0][0] <= self._played:
            self._marks_due.append(self._marks.popleft()[1])
            due = True
        return due

    def _poke(self) -> None:
        if not self._poked:
            self._poked = True
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                self._loop.call_soon_threadsafe(self._wake.set)

    # --- SIP thread -------------------------------------------------------------------

    def on_dtmf(self, digit: str) -> None:
        self._dtmf.append(digit)
        self._poke()

    def close(self) -> None:
        self._closing = True
        self._poke()

    # --- loop thread: bot messages into the buffer ----------------------------------------

    def _queue_audio(self, pcm: bytes) -> None:
        with self._lock:
            room = max(0, self._max_bytes - len(self._play))
            if len(pcm) > room:
                self._metrics.bot_dropped_audio_seconds_total.inc((len(pcm) - room) / (BYTES_PER_MS * 1000))
                pcm = pcm[:room]
            if not self._play:
                self._first_at = time.monotonic()
            self._play += pcm
            self._enqueued += len(pcm)

    def _queue_mark(self, name: str) -> None:
        with self._lock:
            if len(self._marks) >= MAX_PENDING_MARKS:
                raise ms.BadMessage("too many marks pending")
            self._marks.append((self._enqueued, name))
            due = self._take_due_marks()
        if due:
            self._poke()

    def _clear(self) -> None:
        with self._lock:
            self._play.clear()
            self._played = self._enqueued
            self._playing = False
            due = self._take_due_marks()  # a cleared mark is answered at once, as Twilio does
        if due:
            self._poke()

    def _handle(self, raw: str | bytes) -> None:
        message = ms.parse_bot_message(raw, self._bot.max_message_bytes)
        if isinstance(message, ms.BotMedia):
            self._queue_audio(message.pcm)
        elif isinstance(message, ms.BotMark):
            self._queue_mark(message.name)
        else:
            self._clear()

    # --- loop thread: the conversation --------------------------------------------------

    async def _run(self) -> None:
        try:
            outcome = await self._converse()
        except asyncio.CancelledError:
            outcome = Outcome("stop", "agent shutting down")
        except Exception as exc:  # noqa: BLE001 - one call's failure must not reach the loop
            outcome = Outcome("protocol_errors", f"bot session failed: {type(exc).__name__}: {exc}",
                              self._bot.on_failure == "ivr")
        self._finish(outcome)

    async def _converse(self) -> Outcome:
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException

        failure = self._bot.on_failure == "ivr"
        try:
            ws = await asyncio.wait_for(
                connect(self._bot.url, additional_headers=self._headers, max_size=self._bot.max_message_bytes,
                        max_queue=16, open_timeout=None, ping_interval=20, ping_timeout=20, close_timeout=1,
                        compression=None, user_agent_header="voxops-agent"),
                timeout=self._bot.connect_timeout_s,
            )
        except (OSError, TimeoutError, WebSocketException) as exc:
            if self._closing:
                return Outcome("stop", "call ended while connecting")
            return Outcome("connect_failed", f"bot connect failed: {type(exc).__name__}: {exc}", failure)
        async with ws:
            await ws.send(ms.connected())
            await ws.send(ms.start(self._ids, dict(self._bot.parameters), self._call.remote_uri))
            self._started_at = time.monotonic()
            tasks = {asyncio.create_task(self._send_loop(ws)), asyncio.create_task(self._receive_loop(ws))}
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            outcome: Outcome = next(iter(done)).result()
            if outcome.kind in ("silent", "protocol_errors"):  # the bot is told the stream ends
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.send(ms.stop(self._ids)), timeout=1.0)
            return outcome

    async def _send_loop(self, ws: Any) -> Outcome:
        from websockets.exceptions import ConnectionClosed

        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                self._poked = False
                while self._up:
                    stamp = round((time.monotonic() - self._started_at) * 1000)
                    await ws.send(ms.media(self._ids, self._up.popleft(), stamp))
                while self._dtmf:
                    await ws.send(ms.dtmf(self._ids, self._dtmf.popleft()))
                while self._marks_due:
                    await ws.send(ms.mark(self._ids, self._marks_due.popleft()))
                    self._metrics.bot_marks_total.inc()
                if self._closing:
                    await ws.send(ms.stop(self._ids))
                    return Outcome("stop", "call ended")
        except ConnectionClosed:
            return self._closed()

    def _closed(self, exc: Exception | None = None) -> Outcome:
        if self._closing:
            return Outcome("stop", "call ended")
        sent = getattr(exc, "sent", None)
        if sent is not None and sent.code == 1009:  # we closed it: a message over max_message_bytes
            return Outcome("protocol_errors", "bot sent a message over max_message_bytes",
                           self._bot.on_failure == "ivr")
        return Outcome("closed", "bot closed the stream", self._bot.on_close == "ivr")

    async def _receive_loop(self, ws: Any) -> Outcome:
        from websockets.exceptions import ConnectionClosed

        failure = self._bot.on_failure == "ivr"
        while True:
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=self._bot.silence_timeout_s)
            except TimeoutError:
                return Outcome("silent", f"bot sent nothing for {self._bot.silence_timeout_s:g}s", failure)
            except ConnectionClosed as exc:
                return self._closed(exc)
            try:
                self._handle(raw)
            except ms.BadMessage as exc:
                self.bad_messages += 1
                self._metrics.bot_bad_messages_total.inc()
                if self.bad_messages <= 3:
                    log(f"call {self._call.call_id}: bad message from the bot: {exc}")
                if self.bad_messages >= self._bot.max_bad_messages:
                    return Outcome("protocol_errors", f"{self.bad_messages} bad messages from the bot", failure)

    def _finish(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self._metrics.bot_outcomes_total.inc(outcome=outcome.kind)
        if outcome.kind == "stop" or self._closing:
            return
        log(f"call {self._call.call_id}: {outcome.reason}")
        if outcome.to_ivr and self._call.to_ivr is not None:
            self._call.to_ivr(outcome.reason)
        else:
            self._call.hangup(outcome.reason)
