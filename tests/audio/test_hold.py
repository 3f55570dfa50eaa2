"""Hold is not dead air: the conversation judged only while the call is up and not held."""

from __future__ import annotations

import numpy as np

from voxops.audio.conversation import Interval, Thresholds, analyse
from voxops.audio.timeline import FRAME_S
from voxops.audio.voice import detect_voice

RATE = 8000


def _side(seconds: float, spoken: list[tuple[float, float]], seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    pcm = rng.normal(0, 40, int(seconds * RATE))
    for a, b in spoken:
        t = np.arange(int(a * RATE), int(b * RATE)) / RATE
        pcm[int(a * RATE): int(a * RATE) + len(t)] += 5000 * np.sin(2 * np.pi * 300 * t)
    return pcm.astype(np.int16), np.ones(int(seconds / FRAME_S) + 1, bool)


def _judge(holds: list[Interval]) -> list[str]:
    caller, flows_c = _side(20, [(1.0, 2.5), (14.0, 15.5)], 1)
    agent, flows_a = _side(20, [(0.3, 0.9), (3.0, 4.0), (16.0, 17.0)], 2)
    c = analyse(detect_voice(caller, RATE, flows_c), detect_voice(agent, RATE, flows_a),
                {"caller": flows_c, "agent": flows_a}, answered=0.1, ended=19.5, holds=holds, limits=Thresholds())
    return sorted({f.code for f in c.findings})


def test_silence_on_hold_is_not_dead_air() -> None:
    assert _judge([]) == ["dead-air"]  # 4 s to 14 s: nobody speaks
    assert _judge([Interval(start=4.2, end=13.8)]) == []
