"""The prompt pipeline end to end: the caller hears the greeting WAV and is recorded."""

from __future__ import annotations

import random
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.agent.peers import AgentProc, RtpPeer, responses, sipp, start_agent, ulaw_frame
from tests.agent.scenarios import caller
from tests.conftest import free_port, need_module, need_tool
from voxops.proc import run

pytestmark = pytest.mark.slow


def ulaw_decode(data: bytes) -> np.ndarray:
    """G.711 mu-law to linear 16-bit (ITU-T G.711 table, as the codecs do)."""
    u = ~np.frombuffer(data, dtype=np.uint8)
    sign, exponent, mantissa = u & 0x80, (u >> 4) & 0x07, u & 0x0F
    magnitude = ((mantissa.astype(np.int32) << 3) + 0x84) << exponent
    return np.where(sign != 0, 0x84 - magnitude, magnitude - 0x84).astype(np.int32)


@pytest.fixture
def greeting(tmp_path: Path) -> Path:
    """A spoken greeting made with espeak-ng, resampled by sox to 8 kHz mono 16-bit."""
    raw, wav = tmp_path / "greeting-raw.wav", tmp_path / "greeting.wav"
    run([need_tool("espeak-ng"), "-w", raw, "Hello, you are talking to the voxops agent."], timeout=30)
    run([need_tool("sox"), raw, "-r", "8000", "-c", "1", "-b", "16", wav], timeout=30)
    return wav


@pytest.fixture
def agent(tmp_path: Path, greeting: Path) -> Iterator[AgentProc]:
    need_tool("sipp")
    need_module("pjsua2")
    proc = start_agent(
        tmp_path, "127.0.6.30", pipeline="prompt", greeting_wav=str(greeting), record_dir=str(tmp_path / "rec")
    )
    try:
        yield proc
    finally:
        proc.stop()


def test_caller_hears_greeting_and_is_recorded(tmp_path: Path, agent: AgentProc, greeting: Path) -> None:
    with wave.open(str(greeting)) as w:
        expected = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int32)
    peer = RtpPeer("127.0.6.31", free_port("127.0.6.31"))
    rng = random.Random(30)
    sent = [ulaw_frame(rng) for _ in range(50)]
    try:
        seconds = len(expected) / 8000
        run_ = sipp(tmp_path, caller(tmp_path / "c.xml"), agent, "127.0.6.31", hold_ms=int(seconds * 1000) + 1500,
                    keys={"rtpport": str(peer.port)})
        peer.wait_remote()
        peer.send_audio(sent)
        peer.pump(seconds)
        messages = run_.wait()
    finally:
        peer.close()
    assert responses(messages, 200, "BYE") == 1
    heard = ulaw_decode(b"".join(p for pt, p in peer.received if pt == 0)).astype(np.float64)
    ref = expected[:8000].astype(np.float64)  # the first second of speech
    corr = np.correlate(heard, ref, mode="valid")
    energy = np.sqrt(np.convolve(heard**2, np.ones(len(ref)), mode="valid"))
    best = float(np.max(corr / (energy * np.linalg.norm(ref) + 1e-9)))
    assert best > 0.95, f"greeting not heard (best normalised correlation {best:.2f})"
    recordings = list((tmp_path / "rec").glob("*.wav"))
    assert len(recordings) == 1
    with wave.open(str(recordings[0])) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        recorded = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int32)
    as_bytes = recorded.astype("<i2").tobytes()
    found = sum(ulaw_decode(f).astype("<i2").tobytes() in as_bytes for f in sent)
    assert found >= 0.9 * len(sent), f"{found}/{len(sent)} caller frames in the recording"
