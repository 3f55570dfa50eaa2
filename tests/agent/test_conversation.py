"""The live conversation meter, fed 20 ms frames on a synthetic clock."""

from __future__ import annotations

import numpy as np

from voxops.agent.conversation import ConversationMeter
from voxops.agent.metrics import AgentMetrics

TONE = (np.sin(2 * np.pi * 440 * np.arange(160) / 8000) * 8000).astype("<i2").tobytes()
QUIET = b"\x00" * 320


def run(meter: ConversationMeter, script: list[tuple[float, bytes, bytes | None]], start: float = 100.0) -> float:
    """script: (seconds, caller frame, bot frame) spans, played 20 ms at a time."""
    now = start
    for seconds, caller, bot in script:
        for _ in range(round(seconds / 0.02)):
            now += 0.02
            meter.on_caller(caller, now)
            meter.on_bot(bot, now)
    return now


def test_response_latency_is_end_of_caller_speech_to_first_bot_voice() -> None:
    metrics = AgentMetrics()
    meter = ConversationMeter(metrics, dead_air_s=5.0, now=100.0)
    end = run(meter, [(1.0, TONE, None), (0.7, QUIET, None), (1.0, QUIET, TONE), (0.5, QUIET, None),
                      (0.8, TONE, None), (1.2, QUIET, QUIET), (0.6, QUIET, TONE), (0.5, QUIET, None),
                      # a fast answer: before the caller's spurt is known to have ended
                      (0.6, TONE, None), (0.14, QUIET, None), (0.5, QUIET, TONE), (0.5, QUIET, None)])
    record = meter.close(end)
    assert record["response_latency_ms"] == [140, 700, 1200]
    assert record["turns"] == 3 and metrics.response_latency.count == 3
    assert record["bot_underruns"] == 0 and record["dead_air_episodes"] == 0


def test_barge_in_and_whether_the_bot_stopped() -> None:
    metrics = AgentMetrics()
    meter = ConversationMeter(metrics, dead_air_s=5.0, now=100.0)
    # the bot talks; the caller cuts in; the bot stops 200 ms later
    end = run(meter, [(1.0, QUIET, TONE), (0.2, TONE, TONE), (1.5, TONE, None), (1.0, QUIET, None)])
    # the caller cuts in again and the bot talks on for 2 s
    end = run(meter, [(1.0, QUIET, TONE), (2.0, TONE, TONE), (1.0, QUIET, None)], start=end)
    record = meter.close(end)
    assert record["barge_ins"] == 2 and record["barge_ins_bot_stopped"] == 1
    assert metrics.barge_ins_total.value(bot_stopped="yes") == 1
    assert metrics.barge_ins_total.value(bot_stopped="no") == 1


def test_dead_air_and_underruns() -> None:
    metrics = AgentMetrics()
    meter = ConversationMeter(metrics, dead_air_s=2.0, now=100.0)
    # a gap of 100 ms with no audio inside the bot's speech, then 3 s of silence on both sides
    end = run(meter, [(0.5, QUIET, TONE), (0.1, QUIET, None), (0.5, QUIET, TONE), (3.0, QUIET, QUIET),
                      (0.3, TONE, None)])
    record = meter.close(end)
    assert record["bot_underruns"] == 1 and metrics.bot_underruns_total.value() == 1
    assert record["dead_air_episodes"] == 1
    assert 2.9 <= record["dead_air_s"] <= 3.1  # from the bot's last voice to the caller's first
