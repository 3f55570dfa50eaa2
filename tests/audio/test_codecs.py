"""Payload decoders against reference tools and libraries, and their bounds."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from tests.audio.encoders import g722_encode, g729_encode, opus_encode, snr_db
from tests.audio.support import speech
from tests.conftest import need_tool
from voxops.audio import native
from voxops.audio.codecs import MAX_PACKET_MS, Undecodable, decoder_for, encode_g711


@pytest.mark.parametrize(("law", "sox_type"), [("PCMU", "ul"), ("PCMA", "al")])
def test_g711_tables_agree_with_sox(tmp_path, law, sox_type) -> None:
    sox = need_tool("sox")
    every_code = bytes(range(256))
    (tmp_path / "in.raw").write_bytes(every_code)
    subprocess.run([sox, "-t", sox_type, "-r", "8000", "-c", "1", str(tmp_path / "in.raw"),
                    "-t", "s16", str(tmp_path / "out.raw")], check=True, timeout=30)
    expected = np.frombuffer((tmp_path / "out.raw").read_bytes(), "<i2")
    assert np.array_equal(decoder_for(law, 8000).decode(every_code), expected)


@pytest.mark.parametrize("law", ["PCMU", "PCMA"])
def test_g711_silence_decodes_to_silence(law) -> None:
    silence = b"\xff" * 160 if law == "PCMU" else b"\xd5" * 160
    assert np.max(np.abs(decoder_for(law, 8000).decode(silence))) <= 8
    pcm = (np.sin(np.arange(800) / 5) * 8000).astype(np.int16)
    back = decoder_for(law, 8000).decode(encode_g711(pcm, law))
    assert np.corrcoef(pcm, back)[0, 1] > 0.999


def test_g722_round_trip_snr(tmp_path) -> None:
    sent = speech("The quick brown fox jumps over the lazy dog.", tmp_path, 16000)
    coded = g722_encode(sent)
    decode = decoder_for("G722", 8000).decode  # RTP clock 8000, audio 16 kHz
    out = np.concatenate([decode(coded[i: i + 160]) for i in range(0, len(coded), 160)])
    assert len(out) == 2 * len(coded)
    assert snr_db(sent, out) > 20  # G.722 at 64 kbit/s on speech: 25-30 dB


def test_opus_round_trip_snr(tmp_path) -> None:
    sent = speech("The quick brown fox jumps over the lazy dog.", tmp_path, 16000)
    decode = decoder_for("opus", 48000).decode
    out = np.concatenate([decode(p) for p in opus_encode(sent)])
    assert snr_db(sent, out) > 8  # a perceptual codec at 32 kbit/s: waveform SNR about 12 dB


def test_g729_round_trip_snr(tmp_path) -> None:
    sent = speech("The quick brown fox jumps over the lazy dog.", tmp_path, 8000)
    frames = g729_encode(sent)
    decode = decoder_for("G729", 8000).decode
    out = np.concatenate([decode(b"".join(frames[i: i + 2])) for i in range(0, len(frames), 2)])
    assert len(out) == 80 * len(frames)
    assert snr_db(sent, out) > 3  # CELP keeps the spectrum, not the waveform: about 5 dB


def test_unknown_codecs_are_named_not_guessed() -> None:
    with pytest.raises(Undecodable, match="AMR/8000"):
        decoder_for("AMR", 8000)
    with pytest.raises(Undecodable, match="PCMU/16000"):
        decoder_for("PCMU", 16000)


def test_a_missing_library_names_its_package(monkeypatch) -> None:
    monkeypatch.setitem(native.LIBRARIES, "bcg729", (("libbcg729-not-here.so.0",), "libbcg729-0"))
    native.load.cache_clear()
    try:
        with pytest.raises(Undecodable, match="libbcg729-0") as caught:
            decoder_for("G729", 8000)
        assert caught.value.missing == "libbcg729-0"
    finally:
        native.load.cache_clear()


@pytest.mark.parametrize(("name", "clock", "size"), [
    ("G722", 8000, 8000 * MAX_PACKET_MS // 1000 + 1),  # 3 times the samples its buffer holds
    ("G722", 8000, 100_000),
    ("opus", 48000, 4000),
    ("opus", 48000, 0),
    ("G729", 8000, 10 * 21),
    ("G729", 8000, 13),
    ("PCMU", 8000, 1601),
    ("L16", 16000, 2 * 16 * MAX_PACKET_MS + 2),
])
def test_oversized_or_malformed_payloads_are_refused(name, clock, size) -> None:
    """Hostile payload lengths never reach a C decoder with a buffer too small for them."""
    codec = decoder_for(name, clock)
    with pytest.raises(ValueError):
        codec.decode(bytes(range(256)) * (size // 256) + bytes(size % 256))


def test_garbage_opus_is_refused_not_crashed() -> None:
    decode = decoder_for("opus", 48000).decode
    refused = 0
    rng = np.random.default_rng(7)
    for _ in range(200):
        try:
            out = decode(rng.integers(0, 256, int(rng.integers(1, 400)), dtype=np.uint8).tobytes())
            assert len(out) <= 16000 * 120 // 1000
        except ValueError:
            refused += 1
    assert refused > 0
