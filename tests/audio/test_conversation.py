"""Calls with known audio (espeak-ng sentences, sox tones, line noise), decoded by `voxops audio`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.audio.support import (
    MEDIA_START,
    RATE,
    correlation,
    noise,
    place,
    read_wav,
    speech,
    tone,
    write_g711_call,
)

CALL = "audio-call@test"
SENTENCES = [
    "Hello, I would like to change my booking for tomorrow.",
    "Sure, I can help you with that. What is your booking number?",
    "It is four five six seven, under the name Smith.",
    "Thank you. I have moved your booking to nine in the morning.",
    "Great, that is all I needed.",
    "You are welcome. Goodbye.",
]


@pytest.fixture(scope="module")
def voices(tmp_path_factory) -> dict[str, np.ndarray]:
    folder = tmp_path_factory.mktemp("voices")
    clips = {f"s{i}": speech(text, folder) for i, text in enumerate(SENTENCES)}
    clips["greeting"] = speech("Welcome to the booking line. How can I help?", folder)
    clips["tone"] = tone(folder, 2.0)
    return clips


def _conversation(voices: dict[str, np.ndarray], gaps_ms: list[int], *, seconds: float = 30.0,
                  greeting_at: float = 0.4) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Greeting, then caller and agent take turns; agent responses come `gaps_ms` after the caller."""
    caller, agent = noise(seconds), noise(seconds, seed=2)
    t = greeting_at
    place(agent, t, voices["greeting"])
    t += len(voices["greeting"]) / RATE + 0.7
    for i, gap in enumerate(gaps_ms):
        said = voices[f"s{2 * i}"]
        place(caller, t, said)
        t += len(said) / RATE + gap / 1000
        reply = voices[f"s{2 * i + 1}"]
        place(agent, t, reply)
        t += len(reply) / RATE + 0.8
    end = int((t + 0.5) * RATE)  # the caller hangs up soon after the last words
    return caller[:end], agent[:end], [g / 1.0 for g in gaps_ms]


def _run(cli, pcap: Path, out: Path, *extra: str) -> tuple[int, dict, str]:
    code, stdout, err = cli("audio", pcap, "--call-id", CALL, "-o", out, "--format", "json", *extra)
    assert "Traceback" not in err
    return code, (json.loads(stdout) if stdout.strip() else {}), err


def _codes(report: dict) -> list[str]:
    return sorted({f["code"] for f in report["conversation"]["findings"]})


def test_normal_call_decodes_faithfully_and_has_no_finding(cli, voices, tmp_path) -> None:
    caller, agent, gaps = _conversation(voices, [600, 900, 1200])
    pcap = write_g711_call(tmp_path / "call.pcap", caller, agent)
    code, report, _ = _run(cli, pcap, tmp_path / "out")
    assert code == 0
    assert _codes(report) == []
    for side, sent in (("caller", caller), ("agent", agent)):
        entry = next(s for s in report["sides"] if s["role"] == side)
        pcm, rate = read_wav(Path(entry["wav"]))
        assert rate == RATE and entry["lost_packets"] == 0
        start = int(round(MEDIA_START * RATE))  # time 0 of the WAV is the INVITE
        assert correlation(sent, pcm[start:]) > 0.95
    measured = [t["latency_ms"] for t in report["conversation"]["turns"]]
    assert len(measured) == len(gaps)
    assert all(abs(m - g) <= 40 for m, g in zip(measured, gaps, strict=True)), (measured, gaps)
    assert report["conversation"]["greeting_s"] == pytest.approx(0.4 + MEDIA_START - 0.2, abs=0.04)


def test_stereo_puts_caller_left_and_agent_right(cli, voices, tmp_path) -> None:
    caller, agent, _ = _conversation(voices, [700])
    pcap = write_g711_call(tmp_path / "call.pcap", caller, agent)
    code, report, _ = _run(cli, pcap, tmp_path / "out", "--stereo")
    assert code == 0 and report["stereo"] and all(s["wav"] is None for s in report["sides"])
    pcm, rate = read_wav(Path(report["stereo"]))
    start = int(round(MEDIA_START * RATE))
    assert pcm.shape[1] == 2
    assert correlation(caller, pcm[start:, 0]) > 0.95 and correlation(agent, pcm[start:, 1]) > 0.95


def test_slow_agent_response_is_found(cli, voices, tmp_path) -> None:
    caller, agent, _ = _conversation(voices, [700, 2600])
    pcap = write_g711_call(tmp_path / "call.pcap", caller, agent)
    code, report, _ = _run(cli, pcap, tmp_path / "out")
    assert code == 0 and _codes(report) == ["slow-agent-response"]
    assert report["conversation"]["response_latency"]["max_ms"] == pytest.approx(2600, abs=40)


def test_digital_silence_from_the_agent_is_silent_media(cli, voices, tmp_path) -> None:
    caller, _, _ = _conversation(voices, [700])
    agent = np.zeros_like(caller)  # the bot's stream: 0xFF in every payload
    pcap = write_g711_call(tmp_path / "call.pcap", caller, agent)
    code, report, _ = _run(cli, pcap, tmp_path / "out")
    assert code == 0
    assert "silent-media" in _codes(report) and "no-greeting" in _codes(report)
    runs = report["conversation"]["silent_media"]
    assert {r["side"] for r in runs} == {"agent"} and runs[0]["start"] <= 0.3


def test_bot_that_never_speaks_gives_no_greeting(cli, voices, tmp_path) -> None:
    caller, _, _ = _conversation(voices, [700], seconds=12)
    agent = noise(12, seed=4)  # an open line that carries noise, never a word
    pcap = write_g711_call(tmp_path / "call.pcap", caller, agent)
    code, report, _ = _run(cli, pcap, tmp_path / "out")
    assert code == 0 and "no-greeting" in _codes(report) and "silent-media" not in _codes(report)
    assert report["conversation"]["greeting_s"] is None


def test_six_seconds_of_dead_air_is_found(cli, voices, tmp_path) -> None:
    caller, agent = noise(20), noise(20, seed=2)
    place(agent, 0.3, voices["greeting"])
    t = 0.3 + len(voices["greeting"]) / RATE + 0.6
    place(caller, t, voices["s0"])
    t += len(voices["s0"]) / RATE + 0.7
    place(agent, t, voices["s1"])
    quiet_from = t + len(voices["s1"]) / RATE
    place(caller, quiet_from + 6.0, voices["s2"])
    pcap = write_g711_call(tmp_path / "call.pcap", caller, agent)
    code, report, _ = _run(cli, pcap, tmp_path / "out")
    assert code == 0 and _codes(report) == ["dead-air"]
    gap = report["conversation"]["dead_air"][0]
    assert gap["end"] - gap["start"] == pytest.approx(6.0, abs=0.1)
    assert gap["start"] == pytest.approx(quiet_from + MEDIA_START, abs=0.1)


def test_talk_over_is_found_and_says_who_started(cli, voices, tmp_path) -> None:
    caller, agent = noise(14), noise(14, seed=2)
    place(agent, 0.3, voices["greeting"])
    t = 0.3 + len(voices["greeting"]) / RATE + 0.6
    place(caller, t, voices["s2"])
    place(agent, t + 1.0, voices["s3"])  # the agent starts one second into the caller's sentence
    pcap = write_g711_call(tmp_path / "call.pcap", caller, agent)
    code, report, _ = _run(cli, pcap, tmp_path / "out")
    assert code == 0 and "talk-over" in _codes(report)
    over = report["conversation"]["talk_over"][0]
    assert over["started_by"] == "agent"
    assert over["start"] == pytest.approx(t + 1.0 + MEDIA_START, abs=0.08)


def test_tone_counts_as_audio_not_as_silence(cli, voices, tmp_path) -> None:
    caller, agent = noise(8), noise(8, seed=2)
    place(agent, 0.3, voices["tone"])
    place(caller, 3.0, voices["s0"])
    place(agent, 3.0 + len(voices["s0"]) / RATE + 0.5, voices["s1"][: RATE])
    pcap = write_g711_call(tmp_path / "call.pcap", caller, agent)
    code, report, _ = _run(cli, pcap, tmp_path / "out")
    agent_side = next(s for s in report["sides"] if s["role"] == "agent")
    assert code == 0 and agent_side["talk_spurts"][0]["start"] == pytest.approx(0.3 + MEDIA_START, abs=0.03)
    assert agent_side["talk_spurts"][0]["end"] == pytest.approx(2.3 + MEDIA_START, abs=0.03)


def test_diagnose_reports_the_conversation_findings(cli, voices, tmp_path) -> None:
    caller, _, _ = _conversation(voices, [700])
    pcap = write_g711_call(tmp_path / "call.pcap", caller, np.zeros_like(caller))
    code, out, err = cli("diagnose", CALL, "--pcap", pcap, "--format", "json", "--no-index")
    codes = {f["code"] for f in json.loads(out)["findings"]}
    assert code == 1 and {"silent-media", "no-greeting"} <= codes, err
    assert "silent-media" in json.loads(out)["verdict"]
    code, out, _ = cli("diagnose", CALL, "--pcap", pcap, "--format", "json", "--no-index", "--no-audio")
    assert code == 0 and not {"silent-media", "no-greeting"} & {f["code"] for f in json.loads(out)["findings"]}


def test_energy_lanes_for_drawing(voices, tmp_path) -> None:
    from voxops.audio.call import decode_call, energy_lanes
    from voxops.audio.conversation import Thresholds

    caller, agent, _ = _conversation(voices, [800])
    pcap = write_g711_call(tmp_path / "call.pcap", caller, agent)
    call = decode_call(pcap, CALL, (), limits=Thresholds(), warn=lambda _m: None)
    lanes = energy_lanes(call)
    assert set(lanes) == {"caller", "agent"}
    times, level, spurts = lanes["agent"]
    assert len(times) == len(level) and times[1] - times[0] == pytest.approx(0.01)
    assert spurts[0][0] == pytest.approx(0.4 + MEDIA_START, abs=0.03)
    speaking = (times >= spurts[0][0]) & (times < spurts[0][1])
    assert level[speaking].mean() > level[~speaking].mean() + 20  # dB
