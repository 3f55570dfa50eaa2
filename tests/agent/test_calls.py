"""The running agent driven by SIPp on 127.0.6.x: answer, echo, capacity, codecs, drain."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent.peers import (
    AgentProc,
    RtpPeer,
    responses,
    sip_messages,
    sipp,
    start_agent,
    ulaw_frame,
)
from tests.agent.scenarios import caller, canceller, ivr_caller
from tests.conftest import free_port, need_module, need_tool

pytestmark = pytest.mark.slow


@pytest.fixture
def agent(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[AgentProc]:
    need_tool("sipp")
    need_module("pjsua2")
    overrides = getattr(request, "param", {})
    proc = start_agent(tmp_path, "127.0.6.10", **overrides)
    try:
        yield proc
    finally:
        proc.stop()


def test_call_is_answered_and_echo_returns_callers_audio(tmp_path: Path, agent: AgentProc) -> None:
    peer = RtpPeer("127.0.6.11", free_port("127.0.6.11"))
    try:
        run = sipp(tmp_path, caller(tmp_path / "caller.xml"), agent, "127.0.6.11", hold_ms=4000, keys={"rtpport": str(peer.port)})
        peer.wait_remote()
        rng = random.Random(6)
        sent = [ulaw_frame(rng) for _ in range(75)]
        peer.send_audio(sent)
        _, live = agent.get("/metrics")  # while the call is up: per-call media quality
        peer.pump(1.0)  # the echo comes back after its delay
        messages = run.wait()
    finally:
        peer.close()
    assert run.proc.returncode == 0, messages[-2000:]
    assert responses(messages, 100) == 1
    assert responses(messages, 180) == 1
    assert responses(messages, 200) == 1
    assert responses(messages, 200, "BYE") == 1
    ok = next(m for m in sip_messages(messages) if "SIP/2.0 200 OK" in m)
    assert "Session-Expires" in ok  # the caller offered session timers
    back = b"".join(payload for pt, payload in peer.received if pt == 0)
    echoed = sum(frame in back for frame in sent)
    # every frame the caller sent comes back byte for byte (G.711 round-trips exactly);
    # the bridge may re-cut packet boundaries, so look for each frame in the whole stream
    assert echoed >= 0.9 * len(sent), f"{echoed}/{len(sent)} frames echoed"
    series = {line.split("{")[0]: float(line.rsplit(" ", 1)[1]) for line in live.splitlines() if '{call="' in line}
    assert series["voxops_agent_rtcp_loss_ratio"] == 0  # nothing lost on loopback
    assert series["voxops_agent_rtcp_jitter_seconds"] < 0.03
    assert series["voxops_agent_mos"] >= 4.3  # G.711, no loss: the E-model gives 4.41 at no delay
    latency_count = agent.metric("voxops_agent_pipeline_latency_seconds_count")
    latency_sum = agent.metric("voxops_agent_pipeline_latency_seconds_sum")
    assert latency_count and latency_sum and 0.2 <= latency_sum / latency_count < 0.4  # the echo delay


# 4 is the pjsua2 wheel's ceiling (PJSUA_MAX_CALLS): there pjsua itself answers the 486
@pytest.mark.parametrize("agent", [{"max_calls": 2}, {"max_calls": 4}], indirect=True, ids=["cap2", "cap4"])
def test_one_call_over_capacity_gets_486(tmp_path: Path, agent: AgentProc) -> None:
    cap = int(agent.metric("voxops_agent_capacity_calls") or 0)
    run = sipp(tmp_path, caller(tmp_path / "caller.xml"), agent, "127.0.6.12", calls=cap + 1, rate=50, hold_ms=3000)
    agent.wait_for(lambda: agent.metric("voxops_agent_calls_active") == cap, what="capacity reached")
    code, body = agent.readyz()
    assert code == 503 and f"at capacity: {cap}/{cap} calls" in body["reasons"]
    messages = run.wait()
    assert responses(messages, 200) == cap
    assert responses(messages, 486) == 1
    assert agent.metric('voxops_agent_rejected_total{code="486"}') == 1
    assert agent.metric('voxops_agent_calls_total{result="answered"}') == cap
    assert agent.metric("voxops_agent_calls_active") == 0


def test_no_acceptable_codec_gets_488(tmp_path: Path, agent: AgentProc) -> None:
    run = sipp(tmp_path, caller(tmp_path / "caller.xml"), agent, "127.0.6.13", keys={"pt": "18", "codec": "G729"})
    messages = run.wait()
    assert responses(messages, 488) == 1
    assert responses(messages, 200) == 0


@pytest.mark.parametrize("agent", [{"codecs": {"allow": ["PCMA"], "prefer": []}}], indirect=True)
def test_codec_outside_policy_is_refused(tmp_path: Path, agent: AgentProc) -> None:
    run = sipp(tmp_path, caller(tmp_path / "caller.xml"), agent, "127.0.6.13")  # offers PCMU only
    assert responses(run.wait(), 488) == 1


def test_sigterm_lets_active_calls_finish(tmp_path: Path, agent: AgentProc) -> None:
    run = sipp(tmp_path, caller(tmp_path / "caller.xml"), agent, "127.0.6.14", calls=2, rate=50, hold_ms=4000)
    agent.wait_for(lambda: agent.metric("voxops_agent_calls_active") == 2, what="two calls up")
    started = time.monotonic()
    agent.proc.send_signal(15)
    agent.wait_for(lambda: agent.readyz()[0] == 503, what="readiness 503")
    code, body = agent.readyz()
    assert body["draining"] and any("draining" in r for r in body["reasons"])
    late = sipp(tmp_path, caller(tmp_path / "caller.xml"), agent, "127.0.6.15", tag="late")
    assert responses(late.wait(), 503) == 1  # refused while draining: the SBC retries elsewhere
    messages = run.wait()
    assert responses(messages, 200, "BYE") == 2  # both calls ended by the caller, normally
    assert agent.proc.wait(timeout=15) == 0
    assert time.monotonic() - started < 10  # left when the calls ended, not at the drain timeout


def test_hold_and_resume_by_reinvite(tmp_path: Path, agent: AgentProc) -> None:
    run = sipp(tmp_path, caller(tmp_path / "hold.xml", hold=True), agent, "127.0.6.16", hold_ms=300)
    messages = run.wait()
    assert run.proc.returncode == 0, messages[-2000:]
    answers = [m for m in sip_messages(messages) if "SIP/2.0 200 OK" in m and " INVITE" in m]
    modes = ("a=sendrecv", "a=recvonly", "a=inactive", "a=sendonly")
    directions = [next(ln.strip() for ln in a.splitlines() if ln.strip() in modes) for a in answers]
    assert directions == ["a=sendrecv", "a=recvonly", "a=sendrecv"]  # answer, hold, resume
    assert responses(messages, 200, "BYE") == 1


@pytest.mark.parametrize("agent", [{"ring_ms": 3000}], indirect=True)
def test_cancel_while_ringing(tmp_path: Path, agent: AgentProc) -> None:
    run = sipp(tmp_path, canceller(tmp_path / "cancel.xml"), agent, "127.0.6.17")
    messages = run.wait()
    assert run.proc.returncode == 0, messages[-2000:]
    assert responses(messages, 200, "CANCEL") == 1
    assert responses(messages, 487) == 1
    assert responses(messages, 200) == 0
    agent.wait_for(lambda: agent.metric("voxops_agent_calls_active") == 0, what="no call left")
    assert agent.metric('voxops_agent_calls_total{result="failed"}') == 1
    time.sleep(3.2)  # past the ring time: the cancelled call must not be answered late
    assert agent.metric('voxops_agent_calls_total{result="answered"}') == 0


@pytest.mark.parametrize("agent", [{"pipeline": "tests.agent.pipelines:FailsFirstOpen"}], indirect=True)
def test_pipeline_error_refuses_that_call_only(tmp_path: Path, agent: AgentProc) -> None:
    run = sipp(tmp_path, caller(tmp_path / "caller.xml"), agent, "127.0.6.18", calls=2, limit=1, hold_ms=200)
    messages = run.wait()
    assert responses(messages, 500) == 1
    assert responses(messages, 200) == 1
    assert agent.proc.poll() is None
    assert "model not loaded yet" in agent.log.read_text()


@pytest.mark.parametrize("agent", [{"media_timeout_s": 2}], indirect=True)
def test_call_without_rtp_is_hung_up_after_media_timeout(tmp_path: Path, agent: AgentProc) -> None:
    started = time.monotonic()
    run = sipp(tmp_path, ivr_caller(tmp_path / "silent.xml"), agent, "127.0.6.19")  # sends no RTP
    messages = run.wait()
    assert run.proc.returncode == 0, messages[-2000:]
    assert "BYE sip:" in messages and time.monotonic() - started < 8
    assert agent.metric("voxops_agent_media_timeouts_total") == 1
    assert agent.metric("voxops_agent_calls_active") == 0


@pytest.mark.parametrize("agent", [{"pipeline": "tests.agent.pipelines:SlowOpen"}], indirect=True)
def test_back_to_back_calls_at_capacity_are_all_answered(tmp_path: Path, agent: AgentProc) -> None:
    # pjsua reuses a call slot as soon as a call ends: a Call object released late would
    # hang up the next call in its slot (seen under load as BYEs from the agent and 486s)
    run = sipp(tmp_path, caller(tmp_path / "caller.xml"), agent, "127.0.6.25", calls=120, limit=4, rate=30, hold_ms=20)
    messages = run.wait(timeout=60)
    assert responses(messages, 200) == 120
    assert responses(messages, 200, "BYE") == 120
    assert responses(messages, 486) == 0
    assert agent.metric("voxops_agent_calls_active") == 0
    assert agent.metric('voxops_agent_calls_total{result="answered"}') == 120
