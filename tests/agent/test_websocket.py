"""The websocket pipeline against real bots (Pipecat, FastAPI WebSocket transport, Twilio
serializer) on 127.0.30.x: SIPp places the call straight to the agent, `RtpPeer` is the
caller's media. What the bot received and sent (tests/agent/bot.py) is the ground truth."""

from __future__ import annotations

import json
import math
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.agent.peers import AgentProc, RtpPeer, sip_messages, sipp, start_agent
from tests.agent.scenarios import caller, ivr_caller
from tests.conftest import free_port, need_module, need_tool
from voxops.audio.codecs import ULAW, encode_g711

pytestmark = pytest.mark.slow

AGENT_IP, CALLER_IP, BOT_IP = "127.0.30.10", "127.0.30.11", "127.0.30.12"
LOUD_DBFS = -35.0


class Bot:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, events: Path, log: Path) -> None:
        self.proc, self.port, self.events_path, self.log = proc, port, events, log

    def url(self, path: str) -> str:
        return f"ws://{BOT_IP}:{self.port}{path}"

    def reset(self) -> None:
        self.events_path.write_text("")

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        rows = [json.loads(line) for line in self.events_path.read_text().splitlines() if line.strip()]
        return [r for r in rows if kind is None or r["kind"] == kind]


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    need_tool("sipp")
    need_tool("espeak-ng")
    need_module("pjsua2")
    need_module("pipecat")
    tmp = tmp_path_factory.mktemp("bot")
    port = free_port(BOT_IP, socket.SOCK_STREAM)
    events, log = tmp / "events.jsonl", tmp / "bot.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "tests.agent.bot", BOT_IP, str(port), str(events)],
                                stdout=fh, stderr=subprocess.STDOUT)
    handle = Bot(proc, port, events, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            socket.create_connection((BOT_IP, port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise AssertionError(f"bot did not come up:\n{log.read_text()[-3000:]}")
    try:
        yield handle
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def bot_agent(tmp_path: Path, bot: Bot, path: str, **websocket: Any) -> AgentProc:
    bot.reset()
    section = {"url": bot.url(path), "parameters": {"tenant": "acme"}, "silence_timeout_s": 5, **websocket}
    return start_agent(tmp_path, AGENT_IP, pipeline="websocket", websocket=section)


def tone(seconds: float, freq: float = 440.0) -> list[bytes]:
    t = np.arange(round(seconds * 8000)) / 8000
    pcm = (np.sin(2 * math.pi * freq * t) * 8000).astype(np.int16)
    data = encode_g711(pcm, "PCMU")
    return [data[i : i + 160] for i in range(0, len(data), 160)]


SILENCE = [b"\xff" * 160]


def loud_arrivals(peer: RtpPeer) -> list[float]:
    """Arrival times of the PCMU packets the caller heard as sound (not silence)."""
    out = []
    for (pt, payload), at in zip(peer.received, peer.arrivals, strict=True):
        if pt != 0 or not payload:
            continue
        x = ULAW[np.frombuffer(payload, np.uint8)].astype(np.float64) / 32768
        if 10 * math.log10(float(np.mean(x * x)) + 1e-20) > LOUD_DBFS:
            out.append(at)
    return out


def agents_bye(messages: str) -> str:
    """The BYE the agent sent, as SIPp logged it (empty when there was none)."""
    return next((m for m in sip_messages(messages) if re.search(r"^\s*BYE sip:", m, re.M)), "")


def call_records(agent: AgentProc) -> list[dict[str, Any]]:
    return json.loads(agent.get("/calls")[1])["calls"]  # type: ignore[no-any-return]


def place_call(tmp_path: Path, agent: AgentProc, media: Callable[[RtpPeer], None], hold_ms: int | None = None) -> tuple[str, RtpPeer]:
    """One SIPp call to the agent while `media` plays the caller's side; the caller hangs up
    after `hold_ms`, or waits for the agent's BYE when it is None. Returns SIPp's messages
    once the agent has the call's record."""
    peer = RtpPeer(CALLER_IP, free_port(CALLER_IP))
    try:
        if hold_ms is None:
            run = sipp(tmp_path, ivr_caller(tmp_path / "ivr.xml"), agent, CALLER_IP, keys={"rtpport": str(peer.port)})
        else:
            run = sipp(tmp_path, caller(tmp_path / "c.xml"), agent, CALLER_IP, hold_ms=hold_ms,
                       keys={"rtpport": str(peer.port)})
        peer.wait_remote()
        media(peer)
        messages = run.wait(40)
        agent.wait_for(lambda: call_records(agent), what="the call record")
        return messages, peer
    finally:
        peer.close()


def test_echo_bot_gets_callers_audio_dtmf_and_stop_and_caller_hears_it(tmp_path: Path, bot: Bot) -> None:
    def media(peer: RtpPeer) -> None:
        peer.send_audio(tone(1.5))
        peer.send_digits("7")
        peer.send_audio(SILENCE * 50)

    agent = bot_agent(tmp_path, bot, "/echo")
    try:
        _, peer = place_call(tmp_path, agent, media, hold_ms=4000)
        agent.wait_for(lambda: bot.events("stop_in"), what="stop at the bot")
        [record] = call_records(agent)
        stopped = agent.metric('voxops_agent_bot_outcomes_total{outcome="stop"}')
    finally:
        agent.stop()
    start = bot.events("start_in")[0]["message"]["start"]
    assert start["mediaFormat"] == {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
    assert start["customParameters"]["tenant"] == "acme"
    assert len(bot.events("media_in")) >= 100  # the caller sent 2.7 s of 20 ms frames
    assert [e["digit"] for e in bot.events("dtmf_in")] == ["7"]
    heard = loud_arrivals(peer)
    assert len(heard) >= 50, f"caller heard {len(heard)} loud packets of the echo"
    assert record["mode"] == "pipeline"
    assert stopped == 1


def test_speak_bot_reply_mark_and_clear(tmp_path: Path, bot: Bot) -> None:
    def media(peer: RtpPeer) -> None:
        peer.send_audio(tone(1.0))
        peer.send_audio(SILENCE * 220)  # the whole first reply plays (3.4 s)
        peer.send_audio(tone(0.6))
        peer.send_audio(SILENCE * 125)  # 0.3 s to the reply, then 2.2 s of it
        peer.send_digits("5")  # the bot interrupts itself: `clear`
        peer.send_audio(SILENCE * 60)

    agent = bot_agent(tmp_path, bot, "/speak/300")
    try:
        _, peer = place_call(tmp_path, agent, media, hold_ms=12500)
    finally:
        agent.stop()
    first, second = bot.events("reply_out")[:2]
    marks = {e["name"]: e["t"] for e in bot.events("mark_in")}
    # the first mark comes back once its phrase was played (Pipecat sends at real-time pace,
    # the mark after the audio): within 200 ms of the bot sending it
    [wire] = [e["t"] for e in bot.events("mark_wire") if e["name"] == "reply-1"]
    assert wire <= marks["reply-1"] <= wire + 0.2
    heard = loud_arrivals(peer)
    assert any(first["t"] < t < first["t"] + 1 for t in heard), "the caller heard the reply"
    [clear] = bot.events("clear_out")
    assert clear["t"] < second["t"] + second["audio_s"], "clear sent while the second reply played"
    during = [t for t in heard if second["t"] < t < clear["t"]]
    after = [t for t in heard if t > clear["t"]]
    assert during, "the second reply was playing"
    assert not after or max(after) <= clear["t"] + 0.1, f"playback went on {max(after) - clear['t']:.3f}s after clear"
    # Pipecat drops what it had not sent yet, its mark too: none comes back for the cut reply
    assert "reply-2" not in marks


@pytest.mark.parametrize("delay_ms", [300, 1200])
def test_response_latency_matches_the_delay_the_bot_imposes(tmp_path: Path, bot: Bot, delay_ms: int) -> None:
    def media(peer: RtpPeer) -> None:
        peer.send_audio(SILENCE * 10)
        peer.send_audio(tone(1.0))
        peer.send_audio(SILENCE * round((delay_ms + 1500) / 20))

    agent = bot_agent(tmp_path, bot, f"/speak/{delay_ms}")
    try:
        place_call(tmp_path, agent, media, hold_ms=3500 + delay_ms)
        [record] = call_records(agent)
        turns = agent.metric("voxops_agent_response_latency_seconds_count")
    finally:
        agent.stop()
    [reply] = bot.events("reply_out")[:1]
    assert reply["delay_s"] == delay_ms / 1000
    # what the bot imposed, as it happened: its last loud frame in -> its answer's first audio out
    wire = next(e["t"] for e in bot.events("speech_out") if e["t"] >= reply["t"])
    imposed_ms = (wire - reply["last_loud"]) * 1000
    assert delay_ms <= imposed_ms <= delay_ms + 100, imposed_ms  # Pipecat's own path adds a little
    measured = record["conversation"]["response_latency_ms"]
    assert len(measured) == 1, record
    print(f"delay {delay_ms} ms: bot imposed {imposed_ms:.0f} ms, agent measured {measured[0]} ms")
    assert abs(measured[0] - imposed_ms) <= 40, f"agent measured {measured[0]} ms, bot imposed {imposed_ms:.0f} ms"
    assert turns == 1


def ivr_call(tmp_path: Path, agent: AgentProc, seconds: float) -> tuple[str, RtpPeer]:
    """A call the agent ends (the caller waits for its BYE), `seconds` of silence sent."""
    return place_call(tmp_path, agent, lambda peer: peer.send_audio(SILENCE * round(seconds * 50)))


def test_silent_bot_hands_the_call_to_the_ivr(tmp_path: Path, bot: Bot) -> None:
    agent = bot_agent(tmp_path, bot, "/silent", silence_timeout_s=1.5)
    try:
        messages, _ = ivr_call(tmp_path, agent, 3.0)
        agent.wait_for(lambda: bot.events("stop_in"), what="stop at the bot")
        assert agent.metric('voxops_agent_bot_outcomes_total{outcome="silent"}') == 1
        [record] = call_records(agent)
    finally:
        agent.stop()
    assert not [e for e in bot.events() if e["kind"].endswith("_out")], "the bot sent nothing"
    assert record["mode"] == "ivr"
    assert agents_bye(messages)


def test_garbage_from_the_bot_is_counted_then_the_ivr_takes_over(tmp_path: Path, bot: Bot) -> None:
    agent = bot_agent(tmp_path, bot, "/garbage", max_bad_messages=20)
    try:
        ivr_call(tmp_path, agent, 2.0)
        assert agent.metric("voxops_agent_bot_bad_messages_total") == 20
        assert agent.metric('voxops_agent_bot_outcomes_total{outcome="protocol_errors"}') == 1
        [record] = call_records(agent)
    finally:
        agent.stop()
    assert len(bot.events("garbage_out")) >= 20  # it sends 25; the agent stops reading at 20
    assert record["mode"] == "ivr"


def test_bot_dropping_the_socket_hangs_up_with_a_reason(tmp_path: Path, bot: Bot) -> None:
    agent = bot_agent(tmp_path, bot, "/drop")
    try:
        messages, _ = ivr_call(tmp_path, agent, 2.5)
        assert agent.metric('voxops_agent_bot_outcomes_total{outcome="closed"}') == 1
        [record] = call_records(agent)
    finally:
        agent.stop()
    assert bot.events("close_out")
    bye = agents_bye(messages)
    assert 'text="bot closed the stream"' in bye
    assert record["mode"] == "pipeline"


def test_unreachable_bot_fails_readiness_and_calls_go_to_the_ivr(tmp_path: Path, bot: Bot) -> None:
    closed = free_port(BOT_IP, socket.SOCK_STREAM)
    bot.reset()
    agent = start_agent(tmp_path, AGENT_IP, pipeline="websocket",
                        websocket={"url": f"ws://{BOT_IP}:{closed}/echo", "connect_timeout_s": 1})
    try:
        agent.wait_for(lambda: agent.readyz()[0] == 503, what="not ready")
        assert any("dependency down: bot" in r for r in agent.readyz()[1]["reasons"])
        ivr_call(tmp_path, agent, 1.0)
        [record] = call_records(agent)
    finally:
        agent.stop()
    assert record["mode"] == "ivr"


def test_bot_refusing_the_upgrade_is_a_connect_failure(tmp_path: Path, bot: Bot) -> None:
    agent = bot_agent(tmp_path, bot, "/no-such-bot", on_failure="hangup")
    try:
        messages, _ = ivr_call(tmp_path, agent, 1.5)
        assert agent.metric('voxops_agent_bot_outcomes_total{outcome="connect_failed"}') == 1
    finally:
        agent.stop()
    bye = agents_bye(messages)
    assert "bot connect failed" in bye
