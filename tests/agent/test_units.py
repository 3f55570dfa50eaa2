"""Admission policy, IVR state machine, pipelines, metrics format, codec plan: no SIP needed."""

from __future__ import annotations

import math
import sqlite3
import time
from pathlib import Path

import pytest

from tests.conftest import need_module
from voxops.agent.admission import decide
from voxops.agent.config import AgentConfig, IvrConfig
from voxops.agent.ivr import CallbackStore, IvrAudio, IvrSession, IvrState
from voxops.agent.metrics import AgentMetrics
from voxops.agent.pipeline import CallContext, EchoSession, load_pipeline
from voxops.errors import EnvironmentProblem, InvalidInput


def _context(hangups: list[str] | None = None, latencies: list[float] | None = None) -> CallContext:
    return CallContext(
        call_id="call-1@test",
        remote_uri="<sip:caller@127.0.6.1>",
        clock_rate=8000,
        samples_per_frame=160,
        hangup=lambda: (hangups if hangups is not None else []).append("hangup"),
        report_latency=lambda s: (latencies if latencies is not None else []).append(s),
    )


@pytest.mark.parametrize(
    "active, draining, degraded, ivr, expected",
    [
        (0, False, [], True, ("pipeline", 200)),
        (3, False, [], True, ("pipeline", 200)),
        (4, False, [], True, ("reject", 486)),
        (4, False, ["dependency down: asr"], True, ("reject", 486)),  # full beats degraded
        (1, False, ["dependency down: asr"], True, ("ivr", 200)),
        (1, False, ["pipeline overloaded"], False, ("reject", 503)),
        (0, True, [], True, ("reject", 503)),
    ],
)
def test_admission(active: int, draining: bool, degraded: list[str], ivr: bool, expected: tuple[str, int]) -> None:
    config = AgentConfig(max_calls=4, ivr=IvrConfig(enabled=ivr))
    verdict = decide(config, active=active, draining=draining, degraded=degraded)
    assert (verdict.mode, verdict.code) == expected


@pytest.fixture
def store(tmp_path: Path):
    s = CallbackStore(tmp_path / "sub" / "cb.sqlite3")
    yield s
    s.close()


def _ivr(store: CallbackStore, hangups: list[str], **cfg: float) -> IvrSession:
    config = IvrConfig(digit_timeout_s=cfg.get("digit_timeout_s", 5.0), min_digits=3, max_digits=6)
    return IvrSession(_context(hangups), config, IvrAudio(config, 8000), store, agent="a1", reason="dependency down: asr")


def test_ivr_commits_before_confirmation_then_hangs_up(store: CallbackStore, tmp_path: Path) -> None:
    hangups: list[str] = []
    ivr = _ivr(store, hangups)
    assert ivr.next_audio() is not None  # the prompt plays
    for digit in "0612#":
        ivr.on_dtmf(digit)
    # the row is on disk (another connection sees it) while the confirmation starts
    with sqlite3.connect(tmp_path / "sub" / "cb.sqlite3") as other:
        assert other.execute("SELECT number, reason FROM callback_requests").fetchall() == [
            ("0612", "dependency down: asr")
        ]
    assert ivr.state is IvrState.confirming
    frames = 0
    while ivr.next_audio() is not None:
        frames += 1
    assert frames > 10
    ivr.tick()
    assert ivr.state is IvrState.finished and hangups == ["hangup"]


def test_ivr_max_digits_finishes_without_hash(store: CallbackStore) -> None:
    ivr = _ivr(store, [])
    for digit in "123456789":
        ivr.on_dtmf(digit)
    assert [r.number for r in store.all()] == ["123456"]


def test_ivr_too_few_digits_stores_nothing(store: CallbackStore) -> None:
    hangups: list[str] = []
    ivr = _ivr(store, hangups, digit_timeout_s=0.05)
    ivr.on_dtmf("7")
    time.sleep(0.1)
    ivr.tick()
    assert ivr.state is IvrState.failing and store.all() == []
    while ivr.next_audio() is not None:
        pass
    ivr.tick()
    assert hangups == ["hangup"]


def test_echo_returns_frames_after_delay() -> None:
    latencies: list[float] = []
    session = EchoSession(_context(latencies=latencies), delay_ms=60)
    frames = [bytes([i]) * 320 for i in range(5)]
    for f in frames:
        session.on_audio(f)
    assert session.next_audio() is None  # not yet: the delay has not passed
    time.sleep(0.08)
    assert [session.next_audio() for _ in range(5)] == frames
    assert len(latencies) == 5 and min(latencies) >= 0.06


class Upper:
    """A user pipeline loaded from module:Class (plays back a constant frame)."""

    def __init__(self, config: AgentConfig) -> None:
        self.rate = config.clock_rate

    def open(self, call: CallContext):
        frame = b"\x01\x00" * call.samples_per_frame

        class S:
            def on_audio(self, pcm: bytes) -> None: ...
            def next_audio(self) -> bytes | None:
                return frame
            def on_dtmf(self, digit: str) -> None: ...
            def close(self) -> None: ...

        return S()

    def overloaded(self) -> bool:
        return False

    def close(self) -> None: ...


def test_pipeline_from_module_class() -> None:
    pipeline = load_pipeline(AgentConfig(pipeline="tests.agent.test_units:Upper"))
    assert pipeline.open(_context()).next_audio() == b"\x01\x00" * 160


@pytest.mark.parametrize(
    "spec, message",
    [("nosuchmodule_xyz:Thing", "cannot import"), ("tests.agent.test_units:Nope", "has no Nope"),
     ("tests.agent.test_units:NoMethods", "missing method")],
)
def test_bad_pipeline_is_invalid_input(spec: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        load_pipeline(AgentConfig(pipeline=spec))


class NoMethods:
    def __init__(self, config: AgentConfig) -> None:
        pass


def test_pipeline_failing_to_start_is_an_environment_problem() -> None:
    with pytest.raises(EnvironmentProblem, match="failed to start"):
        load_pipeline(AgentConfig(pipeline="tests.agent.test_units:IvrConfig"))


def test_metrics_exposition_format() -> None:
    m = AgentMetrics()
    m.calls_total.inc(result="answered")
    m.rejected_total.inc(code="486")
    m.rtcp_loss.set(0.015, call='a"b')
    m.pipeline_latency.observe(0.25)
    m.pipeline_latency.observe(math.inf)
    text = m.render()
    assert 'voxops_agent_calls_total{result="answered"} 1' in text
    assert 'voxops_agent_rejected_total{code="486"} 1' in text
    assert 'voxops_agent_rtcp_loss_ratio{call="a\\"b"} 0.015' in text
    assert 'voxops_agent_pipeline_latency_seconds_bucket{le="0.3"} 1' in text
    assert 'voxops_agent_pipeline_latency_seconds_bucket{le="+Inf"} 2' in text
    for name in ("voxops_agent_calls_active", "voxops_agent_mos", "voxops_agent_rtcp_jitter_seconds"):
        assert f"# TYPE {name} gauge" in text
    assert "# TYPE voxops_agent_pipeline_latency_seconds histogram" in text


def test_metrics_parse_with_promtool(tmp_path: Path) -> None:
    from tests.conftest import need_tool
    from voxops.proc import run

    promtool = need_tool("promtool")
    m = AgentMetrics()
    m.mos.set(4.41, call="c1")
    m.pipeline_latency.observe(0.2)
    path = tmp_path / "m.txt"
    path.write_text(m.render())
    result = run([promtool, "check", "metrics"], timeout=30, input=path.read_bytes(), check=False)
    # promtool exits non-zero on a parse error; lint remarks (e.g. no _total) go to stdout
    assert result.returncode == 0, result.stderr.decode()


def test_codec_plan_follows_offer_order() -> None:
    need_module("pjsua2")
    from voxops.agent.endpoint import plan_codecs

    available = ["speex/16000/1", "speex/8000/1", "PCMU/8000/1", "PCMA/8000/1", "G722/16000/1", "L16/44100/2"]
    cfg = AgentConfig.model_validate({"codecs": {"allow": ["PCMA", "G722", "PCMU", "G729"], "prefer": ["G722"]}})
    plan = plan_codecs(cfg, available)
    assert plan.enabled == ["G722/16000/1", "PCMA/8000/1", "PCMU/8000/1"]
    assert plan.ignored == ["G729"]


def test_run_refuses_capacity_above_pjsua_ceiling(cli) -> None:
    need_module("pjsua2")
    code, _, err = cli("agent", "run", "--max-calls", "5", "--health-port", "1", "--sip-port", "2")
    assert code == 3 and "ceiling of 4" in err
