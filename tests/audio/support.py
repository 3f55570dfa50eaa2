"""Known audio for test calls: espeak-ng sentences, sox tones, packetised into RTP."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np

from tests.conftest import need_tool
from voxops.audio.codecs import encode_g711
from voxops.capture.writer import RtpSpec, write_rtp_call

RATE = 8000
MEDIA_START = 0.25  # both sides start sending this long after the INVITE (after the 200 OK)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        data = np.frombuffer(w.readframes(w.getnframes()), "<i2")
        if w.getnchannels() > 1:
            data = data.reshape(-1, w.getnchannels())
        return data, w.getframerate()


def speech(text: str, folder: Path, rate: int = RATE) -> np.ndarray:
    """A sentence spoken by espeak-ng, leading/trailing silence trimmed by sox, at `rate`."""
    espeak, sox = need_tool("espeak-ng"), need_tool("sox")
    raw, out = folder / f"say-{abs(hash(text))}.wav", folder / f"say-{abs(hash(text))}-{rate}.wav"
    subprocess.run([espeak, "-w", str(raw), text], check=True, timeout=60)
    subprocess.run([sox, str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(out),
                    "silence", "1", "0.01", "1%", "reverse", "silence", "1", "0.01", "1%", "reverse",
                    "gain", "-n", "-3"], check=True, timeout=60)
    return read_wav(out)[0].copy()


def tone(folder: Path, seconds: float, freq: int = 440, rate: int = RATE) -> np.ndarray:
    sox = need_tool("sox")
    out = folder / f"tone-{freq}-{seconds}-{rate}.wav"
    subprocess.run([sox, "-n", "-r", str(rate), "-c", "1", "-b", "16", str(out), "synth", str(seconds),
                    "sine", str(freq), "gain", "-6"], check=True, timeout=60)
    return read_wav(out)[0].copy()


def noise(seconds: float, rate: int = RATE, level: float = 40.0, seed: int = 1) -> np.ndarray:
    """Line noise about -58 dBFS: what an open microphone sends when nobody speaks."""
    return np.random.default_rng(seed).normal(0, level, int(seconds * rate)).astype(np.int16)


def place(timeline: np.ndarray, at_s: float, clip: np.ndarray, rate: int = RATE) -> None:
    start = int(round(at_s * rate))
    timeline[start: start + len(clip)] = clip[: max(0, len(timeline) - start)]


def g711_packets(pcm: np.ndarray, *, ssrc: int, start_s: float = MEDIA_START, law: str = "PCMU",
                 seq0: int = 1000, ts0: int = 5000) -> list[RtpSpec]:
    """20 ms packets of the whole timeline, sent every 20 ms from `start_s`."""
    payload = encode_g711(pcm, law)
    pt = 0 if law == "PCMU" else 8
    return [(start_s + i * 0.02, seq0 + i, ts0 + 160 * i, ssrc, pt, payload[160 * i: 160 * (i + 1)])
            for i in range(len(pcm) // 160)]


def write_g711_call(path: Path, caller: np.ndarray, agent: np.ndarray, **kw: object) -> Path:
    """A PCMU call whose caller and agent timelines (8 kHz, from MEDIA_START) are sent whole."""
    write_rtp_call(path, g711_packets(caller, ssrc=0x1111), g711_packets(agent, ssrc=0x2222), **kw)  # type: ignore[arg-type]
    return path


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    x, y = a[:n].astype(np.float64), b[:n].astype(np.float64)
    return float(np.corrcoef(x, y)[0, 1])
