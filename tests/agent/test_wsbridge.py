"""The websocket pipeline's session without SIP: hostile bots (a plain `websockets` server
on 127.0.30.20) against its bounds, and the protocol parser against hostile messages."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from tests.conftest import free_port, need_module
from voxops.agent import mediastream as ms
from voxops.agent.config import AgentConfig
from voxops.agent.metrics import AgentMetrics
from voxops.agent.pipeline import CallContext

BOT_IP = "127.0.30.20"
Handler = Callable[[Any], Awaitable[None]]


@pytest.mark.parametrize("raw, why", [
    ("not json", "not JSON"),
    ("[1, 2]", "not a JSON object"),
    (b"\x00\x01", "binary frame"),
    ('{"event": "media", "media": {"payload": "***"}}', "not base64"),
    ('{"event": "media", "media": {"payload": "' + "A" * 5000 + '"}}', "too long"),
    ('{"event": "media"}', "media missing"),
    ('{"event": "mark", "mark": {"name": ""}}', "mark name"),
    ('{"event": "mark", "mark": {"name": "' + "m" * 300 + '"}}', "mark name"),
    ('{"event": "\\u001b[2Jboom"}', "unknown event '?'"),
    ("[" * 100_000 + "]" * 100_000, "not JSON"),
], ids=["text", "list", "binary", "base64", "long-payload", "no-media", "empty-mark", "long-mark", "escape",
        "deep-nesting"])
def test_hostile_bot_messages_are_refused_with_one_line(raw: str | bytes, why: str) -> None:
    with pytest.raises(ms.BadMessage) as exc:
        ms.parse_bot_message(raw, max_audio_bytes=1024)
    assert why in str(exc.value) and "\n" not in str(exc.value)


def test_mulaw_round_trip_and_media_event() -> None:
    pcm = bytes(range(0, 256)) * 2 + b"\x00" * (320 - 512 % 320)
    ids = ms.StreamIds("abc@host")
    event = json.loads(ms.media(ids, pcm[:320], 40))
    assert event["media"]["chunk"] == "1" and event["sequenceNumber"] == "1" and event["media"]["timestamp"] == "40"
    payload = base64.b64decode(event["media"]["payload"])
    assert len(payload) == 160
    again = ms.parse_bot_message(json.dumps({"event": "media", "media": {"payload": event["media"]["payload"]}}), 1024)
    assert isinstance(again, ms.BotMedia) and ms.pcm_to_mulaw(again.pcm) == payload


class FakeBot:
    """A WebSocket server on its own thread running `handler` for each connection."""

    def __init__(self, handler: Handler) -> None:
        need_module("websockets")
        from websockets.asyncio.server import serve

        self.port = free_port(BOT_IP, socket.SOCK_STREAM)
        self.received: list[dict[str, Any]] = []
        self.loop = asyncio.new_event_loop()
        started = threading.Event()

        async def main() -> None:
            async def wrapped(ws: Any) -> None:
                await handler(ws)

            self.server = await serve(wrapped, BOT_IP, self.port, max_size=None)
            started.set()
            await self.server.wait_closed()

        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(main(),), daemon=True)
        self.thread.start()
        assert started.wait(5)

    async def record(self, ws: Any) -> None:
        async for raw in ws:
            self.received.append(json.loads(raw))

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.thread.join(5)


class Harness:
    def __init__(self, bot: FakeBot, **websocket: Any) -> None:
        from voxops.agent.wsbridge import WebsocketPipeline

        self.metrics = AgentMetrics()
        self.ended: list[tuple[str, str]] = []
        config = AgentConfig(pipeline="websocket",
                             websocket={"url": f"ws://{BOT_IP}:{bot.port}/bot", "connect_timeout_s": 2, **websocket})
        self.pipeline = WebsocketPipeline(config, self.metrics)
        context = CallContext("call-1@test", "sip:caller@test", 8000, 160,
                              hangup=lambda reason="": self.ended.append(("hangup", reason)),
                              report_latency=lambda s: None,
                              to_ivr=lambda reason: self.ended.append(("ivr", reason)))
        self.session = self.pipeline.open(context)

    def wait_outcome(self, timeout: float = 10.0) -> str:
        self.session.future.result(timeout)
        assert self.session.outcome is not None
        return self.session.outcome.kind

    def close(self) -> None:
        self.session.close()
        self.pipeline.close()


@pytest.fixture
def make() -> Iterator[Callable[..., tuple[FakeBot, Harness]]]:
    made: list[tuple[FakeBot, Harness]] = []

    def build(handler: Handler | None = None, **websocket: Any) -> tuple[FakeBot, Harness]:
        bot = FakeBot(handler or (lambda ws: bot.record(ws)))
        pair = (bot, Harness(bot, **websocket))
        made.append(pair)
        return pair

    yield build
    for bot, harness in made:
        harness.close()
        bot.close()


def audio_message(ms_of_audio: int) -> str:
    payload = base64.b64encode(b"\x10" * (8 * ms_of_audio)).decode()
    return json.dumps({"event": "media", "streamSid": "x", "media": {"payload": payload}})


def test_a_message_over_the_size_limit_ends_the_session(make: Any) -> None:
    async def oversize(ws: Any) -> None:
        await ws.recv()
        await ws.recv()
        await ws.send(audio_message(2000))  # 16 kB of mu-law, base64: ~21 kB
        await asyncio.sleep(5)

    _, harness = make(oversize, max_message_bytes=4096)
    assert harness.wait_outcome() == "protocol_errors"
    assert harness.ended and harness.ended[0][0] == "ivr"


def test_a_flood_of_bot_audio_is_cut_at_the_jitter_buffer(make: Any) -> None:
    async def flood(ws: Any) -> None:
        await ws.recv()
        await ws.recv()
        for _ in range(100):  # 10 s of audio at once
            await ws.send(audio_message(100))
        await ws.send(json.dumps({"event": "mark", "mark": {"name": "end"}}))
        await asyncio.sleep(5)

    _, harness = make(flood, buffer_ms=1000)
    deadline = time.monotonic() + 5
    while harness.metrics.bot_dropped_audio_seconds_total.value() < 8.9 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert harness.metrics.bot_dropped_audio_seconds_total.value() == pytest.approx(9.0, abs=0.01)
    frames = 0
    while harness.session.next_audio() is not None:
        frames += 1
    assert frames == 50  # what the buffer held: 1 s


def test_marks_pending_beyond_the_bound_are_bad_messages(make: Any) -> None:
    async def marks(ws: Any) -> None:
        await ws.recv()
        await ws.recv()
        await ws.send(audio_message(1000))  # nothing is played: every mark stays pending
        for i in range(300):
            await ws.send(json.dumps({"event": "mark", "mark": {"name": f"m{i}"}}))
        await asyncio.sleep(5)

    _, harness = make(marks, max_bad_messages=1000)
    deadline = time.monotonic() + 5
    while harness.metrics.bot_bad_messages_total.value() < 44 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert harness.metrics.bot_bad_messages_total.value() == 300 - 256


def test_silent_bot_is_given_up_on_and_told_to_stop(make: Any) -> None:
    bot, harness = make(silence_timeout_s=0.5)
    assert harness.wait_outcome() == "silent"
    assert harness.ended == [("ivr", "bot sent nothing for 0.5s")]
    deadline = time.monotonic() + 3
    while not any(m["event"] == "stop" for m in bot.received) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [m["event"] for m in bot.received][:2] == ["connected", "start"]
    assert bot.received[-1]["event"] == "stop"


def test_clear_flushes_queued_audio_and_answers_pending_marks(make: Any) -> None:
    async def talk_then_clear(ws: Any) -> None:
        await ws.recv()
        await ws.recv()
        await ws.send(audio_message(2000))
        await ws.send(json.dumps({"event": "mark", "mark": {"name": "after"}}))
        await asyncio.sleep(0.3)
        await ws.send(json.dumps({"event": "clear"}))
        async for raw in ws:
            bot_received.append(json.loads(raw))

    bot_received: list[dict[str, Any]] = []
    _, harness = make(talk_then_clear)
    time.sleep(0.2)
    assert harness.session.next_audio() is not None
    time.sleep(0.3)
    assert harness.session.next_audio() is None  # 2 s were queued: all gone at once
    deadline = time.monotonic() + 3
    while not any(m["event"] == "mark" for m in bot_received) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [m["mark"]["name"] for m in bot_received if m["event"] == "mark"] == ["after"]


def test_a_mark_comes_back_only_once_the_audio_before_it_was_played(make: Any) -> None:
    async def talk_and_mark(ws: Any) -> None:
        await ws.recv()
        await ws.recv()
        await ws.send(audio_message(500))
        await ws.send(json.dumps({"event": "mark", "mark": {"name": "half-second"}}))
        async for raw in ws:
            bot_received.append(json.loads(raw))

    bot_received: list[dict[str, Any]] = []
    _, harness = make(talk_and_mark)
    time.sleep(0.5)  # everything has arrived; nothing played yet
    assert not [m for m in bot_received if m["event"] == "mark"]
    for _ in range(24):
        assert harness.session.next_audio() is not None
    time.sleep(0.3)
    assert not [m for m in bot_received if m["event"] == "mark"]  # 20 ms still to play
    assert harness.session.next_audio() is not None
    deadline = time.monotonic() + 3
    while not [m for m in bot_received if m["event"] == "mark"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [m["mark"]["name"] for m in bot_received if m["event"] == "mark"] == ["half-second"]


def test_unreachable_bot_is_a_connect_failure(make: Any) -> None:
    bot, harness = make()
    bot.close()
    port = free_port(BOT_IP, socket.SOCK_STREAM)
    from voxops.agent.wsbridge import WebsocketPipeline

    config = AgentConfig(pipeline="websocket", websocket={"url": f"ws://{BOT_IP}:{port}/", "on_failure": "hangup"})
    pipeline = WebsocketPipeline(config, harness.metrics)
    ended: list[str] = []
    context = CallContext("c2", "sip:x@y", 8000, 160, hangup=lambda reason="": ended.append(reason),
                          report_latency=lambda s: None)
    session = pipeline.open(context)
    try:
        session.future.result(5)
    finally:
        pipeline.close()
    assert session.outcome is not None and session.outcome.kind == "connect_failed"
    assert ended and ended[0].startswith("bot connect failed")


def test_auth_header_comes_from_the_environment(make: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from voxops.agent.wsbridge import read_auth
    from voxops.errors import EnvironmentProblem, InvalidInput
    from voxops.spec.models import BotAuth

    monkeypatch.setenv("VOXOPS_TEST_BOT_TOKEN", "Bearer t0ken")
    assert read_auth(BotAuth(value={"env": "VOXOPS_TEST_BOT_TOKEN"})) == {"Authorization": "Bearer t0ken"}
    monkeypatch.setenv("VOXOPS_TEST_BOT_TOKEN", "a\r\nX-Injected: 1")
    with pytest.raises(InvalidInput):
        read_auth(BotAuth(value={"env": "VOXOPS_TEST_BOT_TOKEN"}))
    monkeypatch.delenv("VOXOPS_TEST_BOT_TOKEN")
    with pytest.raises(EnvironmentProblem):
        read_auth(BotAuth(value={"env": "VOXOPS_TEST_BOT_TOKEN"}))
