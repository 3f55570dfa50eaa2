"""`voxops stats --audio`: response latency and dead-air share per trunk and per agent,
measured from a capture of several calls with scripted gaps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.audio.support import MEDIA_START, RATE, g711_packets, noise, place
from voxops.analysis.policy import Policy
from voxops.audio.call_stats import audio_stats
from voxops.capture.files import read_batches
from voxops.capture.writer import PcapWriter, write_rtp_call
from voxops.cli.main import build_app

T0 = 1_700_000_000.0
CARRIER_A, CARRIER_B = ("10.2.0.1", 40000), ("10.2.0.3", 40010)
AGENT_1, AGENT_2 = ("10.2.0.2", 50000), ("10.2.0.4", 50010)
POLICY = Policy(names={"10.2.0.1": "carrier-a/main", "10.2.0.3": "carrier-b/main", "10.2.0.2": "agent-1",
                       "10.2.0.4": "agent-2"},
                trunk_addresses={"10.2.0.1": "carrier-a/main", "10.2.0.3": "carrier-b/main"},
                agent_addresses=frozenset({"10.2.0.2", "10.2.0.4"}))


def _burst(seconds: float, freq: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (7000 * np.sin(2 * np.pi * freq * t) * (0.7 + 0.3 * np.sin(2 * np.pi * 3 * t))).astype(np.int16)


def _turns(gaps_ms: list[int], *, dead_air_s: float = 0.0, seed: int = 1) -> tuple[np.ndarray, np.ndarray, float]:
    """Greeting, then caller 1 s turns each answered by a 1 s agent turn `gap` later; then
    `dead_air_s` more of silence on both sides. Returns both timelines and the silence from
    the end of the last word to the BYE (which comes 0.1 s after the last packet)."""
    seconds = 1.5 + len(gaps_ms) * 3.5 + dead_air_s + 1.0
    caller, agent = noise(seconds, seed=seed), noise(seconds, seed=seed + 1)
    place(agent, 0.3, _burst(0.8, 500))
    t = 1.5
    for gap in gaps_ms:
        place(caller, t, _burst(1.0, 300))
        t += 1.0 + gap / 1000
        place(agent, t, _burst(1.0, 600))
        t += 1.0 + 0.8
    return caller, agent, seconds - 0.02 + 0.1 - (t - 0.8)


def _call(path: Path, call_id: str, caller: tuple[str, int], agent: tuple[str, int], gaps_ms: list[int],
          t0: float, dead_air_s: float = 0.0) -> tuple[Path, float]:
    a, b, silence = _turns(gaps_ms, dead_air_s=dead_air_s, seed=len(call_id))
    write_rtp_call(path, g711_packets(a, ssrc=0x1111), g711_packets(b, ssrc=0x2222), call_id=call_id,
                   caller=caller, agent=agent, t0=t0)
    return path, silence


def _merge(out: Path, parts: list[Path]) -> Path:
    frames = []
    for part in parts:
        for batch in read_batches(part, lambda _m: None):
            frames += [(float(batch.ts[i]), batch.data(i)) for i in range(len(batch))]
    frames.sort(key=lambda f: f[0])
    with PcapWriter(out) as w:
        for ts, data in frames:
            w.write(ts, data)
    return out


@pytest.fixture(scope="module")
def capture(tmp_path_factory) -> tuple[Path, float]:
    """carrier-a -> agent-1 twice (the second call reuses the first's media ports 5 s after
    its BYE), answered 400 ms and 300 ms after the caller; carrier-b -> agent-2 answered
    1200 ms after the caller, silent for 6 s more than its last pause before the BYE.
    Returns the capture and that call's silence at the end (its dead air)."""
    tmp = tmp_path_factory.mktemp("stats-audio")
    parts = [
        *_call(tmp / "a.pcap", "fast@test", CARRIER_A, AGENT_1, [400, 400, 400], T0),
        *_call(tmp / "c.pcap", "reuse@test", CARRIER_A, AGENT_1, [300, 300], T0 + 20.0),
        *_call(tmp / "b.pcap", "slow@test", CARRIER_B, AGENT_2, [1200, 1200], T0 + 1.0, dead_air_s=6.0),
    ]
    return _merge(tmp / "node.pcap", parts[0::2]), parts[5]


def test_response_latency_and_dead_air_per_trunk_and_agent_match_the_script(capture: tuple[Path, float]) -> None:
    stats = audio_stats(capture[0], ["fast@test", "reuse@test", "slow@test"], POLICY, warn=lambda _m: None)
    assert set(stats.trunks) == {"carrier-a/main", "carrier-b/main"}
    assert set(stats.agents) == {"agent-1", "agent-2"}
    a, b = stats.trunks["carrier-a/main"], stats.trunks["carrier-b/main"]
    assert (a.calls, a.turns, b.calls, b.turns) == (2, 5, 1, 2)
    assert a.response_latency_p50_ms == pytest.approx(400, abs=40)
    assert a.response_latency_p95_ms == pytest.approx(400, abs=40)
    assert b.response_latency_p50_ms == pytest.approx(1200, abs=40)
    assert a.dead_air_s == 0 and a.dead_air_share == 0
    assert capture[1] > 6.0 and b.dead_air_s == pytest.approx(capture[1], abs=0.3)
    assert b.dead_air_share == pytest.approx(b.dead_air_s / b.up_s, abs=1e-3) and 0.2 < b.dead_air_share < 0.6
    assert stats.agents["agent-2"] == b and stats.agents["agent-1"] == a
    assert stats.all.calls == 3 and stats.all.turns == 7 and stats.undecoded == []


def test_stats_audio_json_and_text_name_the_figures(capture: tuple[Path, float]) -> None:
    pcap = capture[0]
    runner = CliRunner()
    done = runner.invoke(build_app(), ["stats", str(pcap), "--audio", "--format", "json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    # without a spec: the carrier-facing hop is named by address, the agent is the callee's address
    assert set(report["audio"]["agents"]) == {"10.2.0.2", "10.2.0.4"}
    assert report["audio"]["agents"]["10.2.0.4"]["response_latency_p50_ms"] == pytest.approx(1200, abs=40)
    text = runner.invoke(build_app(), ["stats", str(pcap), "--audio"])
    assert text.exit_code == 0
    assert "response latency p50" in text.stdout and "dead air" in text.stdout
    plain = json.loads(runner.invoke(build_app(), ["stats", str(pcap), "--format", "json"]).stdout)
    assert plain["audio"] is None  # decoding is on request only


def test_a_call_with_a_side_that_cannot_be_decoded_is_listed_not_counted(tmp_path: Path) -> None:
    """Half a conversation would turn the undecoded side's words into dead air."""
    _, agent, _ = _turns([500])
    unknown = [(MEDIA_START + 0.02 * i, i, 160 * i, 7, 96, bytes(20)) for i in range(300)]
    write_rtp_call(tmp_path / "x.pcap", unknown, g711_packets(agent, ssrc=8), call_id="odd@test",
                   codecs="0 96", rtpmap="a=rtpmap:96 X-UNKNOWN/8000\r\n")
    stats = audio_stats(tmp_path / "x.pcap", ["odd@test"], Policy(), warn=lambda _m: None)
    assert stats.all.calls == 0 and stats.undecoded == ["odd@test"]
    write_rtp_call(tmp_path / "y.pcap", [], g711_packets(agent, ssrc=8), call_id="mute@test")
    stats = audio_stats(tmp_path / "y.pcap", ["mute@test"], Policy(), warn=lambda _m: None)
    # a caller that sends nothing is a conversation the agent had alone: it counts
    assert stats.all.calls == 1 and stats.all.turns == 0 and stats.undecoded == []


def test_stats_png_with_audio_draws_the_conversation_panels(capture: tuple[Path, float], tmp_path: Path) -> None:
    from voxops.analysis.loader import analyse_capture
    from voxops.analysis.trunkstats import stats_report
    from voxops.views.stats_png import stats_figure

    analysis = analyse_capture(capture[0], compact=True)
    report = stats_report(str(capture[0]), analysis.dialogs, analysis.streams, POLICY)
    assert len(stats_figure(report, None, POLICY).axes) == 4
    report.audio = audio_stats(capture[0], ["fast@test", "reuse@test", "slow@test"], POLICY, warn=lambda _m: None)
    fig = stats_figure(report, None, POLICY)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 6
    assert "agent response latency (7 turns, 3 calls decoded)" in titles[4]
    assert "p95 > 1.5 s SLO: 0 of 4" in titles[4]
    assert "dead-air share" in titles[5] and "some dead air: 2 of 4" in titles[5]  # carrier-b and agent-2
    done = CliRunner().invoke(build_app(), ["stats", str(capture[0]), "--audio", "-f", "png", "-o",
                                            str(tmp_path / "s.png")])
    assert done.exit_code == 0 and (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
