"""`voxops audio` on wideband codecs and on bad input: a clear answer, the documented exit code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.audio.encoders import g722_encode, g729_encode, opus_encode, snr_db
from tests.audio.support import (
    MEDIA_START,
    RATE,
    correlation,
    g711_packets,
    noise,
    place,
    read_wav,
    speech,
)
from voxops.audio import native
from voxops.capture.writer import write_rtp_call

CALL = "audio-call@test"


@pytest.fixture(scope="module")
def sentence(tmp_path_factory) -> dict[int, np.ndarray]:
    folder = tmp_path_factory.mktemp("say")
    text = "Please hold while I look up your account."
    return {rate: speech(text, folder, rate) for rate in (8000, 16000)}


def _audio(cli, pcap: Path, out: Path) -> tuple[int, dict, str]:
    code, stdout, err = cli("audio", pcap, "--call-id", CALL, "-o", out, "--format", "json")
    assert "Traceback" not in stdout + err and code != 4
    return code, (json.loads(stdout) if stdout.strip() else {}), err


def _one_error(err: str) -> str:
    errors = [line for line in err.splitlines() if line.startswith("voxops: error:")]
    assert len(errors) == 1, err
    return errors[0]


def _timeline(clip: np.ndarray, rate: int, seconds: float = 5.0) -> np.ndarray:
    pcm = noise(seconds, rate)
    place(pcm, 0.5, clip, rate)
    return pcm


def test_g722_call_round_trips(cli, sentence, tmp_path) -> None:
    sent = _timeline(sentence[16000], 16000)
    coded = g722_encode(sent)  # 160 bytes = 20 ms; RTP timestamps advance 160 (clock 8000)
    rtp = [(MEDIA_START + 0.02 * i, i, 160 * i, 5, 9, coded[160 * i: 160 * (i + 1)]) for i in range(len(coded) // 160)]
    write_rtp_call(tmp_path / "c.pcap", rtp, [], codecs="9", rtpmap="")
    code, report, _ = _audio(cli, tmp_path / "c.pcap", tmp_path / "out")
    caller = report["sides"][0]
    assert code == 0 and caller["sample_rate"] == 16000
    pcm, rate = read_wav(Path(caller["wav"]))
    assert rate == 16000
    assert snr_db(sent, pcm[int(MEDIA_START * rate):]) > 20


def test_opus_call_round_trips(cli, sentence, tmp_path) -> None:
    sent = _timeline(sentence[16000], 16000)
    packets = opus_encode(sent)  # 20 ms each: RTP timestamps advance 960 at 48 kHz
    rtp = [(MEDIA_START + 0.02 * i, i, 960 * i, 5, 111, p) for i, p in enumerate(packets)]
    write_rtp_call(tmp_path / "c.pcap", rtp, [], codecs="111", rtpmap="a=rtpmap:111 opus/48000/2\r\n")
    code, report, _ = _audio(cli, tmp_path / "c.pcap", tmp_path / "out")
    assert code == 0
    pcm, rate = read_wav(Path(report["sides"][0]["wav"]))
    assert rate == 16000 and snr_db(sent, pcm[int(MEDIA_START * rate):]) > 8


def _g729_call(sentence: dict[int, np.ndarray], path: Path) -> Path:
    frames = g729_encode(_timeline(sentence[8000], 8000))
    rtp = [(MEDIA_START + 0.02 * i, i, 160 * i, 5, 18, frames[2 * i] + frames[2 * i + 1])
           for i in range(len(frames) // 2)]
    write_rtp_call(path, rtp, [], codecs="18", rtpmap="")
    return path


def test_g729_call_decodes(cli, sentence, tmp_path) -> None:
    code, report, _ = _audio(cli, _g729_call(sentence, tmp_path / "c.pcap"), tmp_path / "out")
    assert code == 0 and report["sides"][0]["segments"][0]["codecs"] == ["G729"]
    assert report["sides"][0]["talk_s"] > 1.0


def test_codec_library_not_installed_exits_3_naming_the_package(cli, sentence, tmp_path, monkeypatch) -> None:
    pcap = _g729_call(sentence, tmp_path / "c.pcap")
    monkeypatch.setitem(native.LIBRARIES, "bcg729", (("libbcg729-absent.so.0",), "libbcg729-0"))
    native.load.cache_clear()
    try:
        code, _, err = _audio(cli, pcap, tmp_path / "out")
    finally:
        native.load.cache_clear()
    assert code == 3
    assert "libbcg729-0" in err and "G729" in _one_error(err)


def test_unknown_codec_is_named_and_exits_2(cli, tmp_path) -> None:
    rtp = [(MEDIA_START + 0.02 * i, i, 160 * i, 5, 96, bytes(32)) for i in range(50)]
    write_rtp_call(tmp_path / "c.pcap", rtp, [], codecs="96", rtpmap="a=rtpmap:96 AMR/8000\r\n")
    code, _, err = _audio(cli, tmp_path / "c.pcap", tmp_path / "out")
    assert code == 2 and "AMR/8000" in _one_error(err)
    assert not (tmp_path / "out").exists()


def test_capture_without_rtp_exits_2(cli, tmp_path) -> None:
    write_rtp_call(tmp_path / "c.pcap", [], [], bye_at=3.0)
    code, _, err = _audio(cli, tmp_path / "c.pcap", tmp_path / "out")
    assert code == 2 and "no RTP" in _one_error(err)


def test_call_not_in_capture_exits_2(cli, tmp_path) -> None:
    write_rtp_call(tmp_path / "c.pcap", [], [], bye_at=3.0)
    code, _, err = cli("audio", tmp_path / "c.pcap", "--call-id", "no-such-call", "-o", tmp_path / "out")
    assert code == 2 and "no-such-call" in _one_error(err)


def test_ssrc_change_mid_turn_keeps_the_sentence(cli, sentence, tmp_path) -> None:
    sent = _timeline(sentence[8000], 8000)
    first = g711_packets(sent[: 2 * RATE], ssrc=0x1111)
    second = g711_packets(sent[2 * RATE:], ssrc=0x2222, start_s=MEDIA_START + 2.0, seq0=40000, ts0=99)
    write_rtp_call(tmp_path / "c.pcap", first + second, [])
    code, report, _ = _audio(cli, tmp_path / "c.pcap", tmp_path / "out")
    caller = report["sides"][0]
    assert code == 0 and [s["ssrc"] for s in caller["segments"]] == [0x1111, 0x2222]
    pcm, _ = read_wav(Path(caller["wav"]))
    assert correlation(sent, pcm[int(MEDIA_START * RATE):]) > 0.95
    assert len(caller["talk_spurts"]) == 1  # one sentence, not two


def test_twenty_percent_loss_is_counted_and_still_heard(cli, sentence, tmp_path) -> None:
    sent = _timeline(sentence[8000], 8000)
    packets = g711_packets(sent, ssrc=0x1111)
    dropped = set(np.random.default_rng(9).choice(len(packets), len(packets) // 5, replace=False).tolist())
    dropped -= {0, len(packets) - 1}
    write_rtp_call(tmp_path / "c.pcap", [p for i, p in enumerate(packets) if i not in dropped], [])
    code, report, _ = _audio(cli, tmp_path / "c.pcap", tmp_path / "out")
    caller = report["sides"][0]
    assert code == 0 and caller["lost_packets"] == len(dropped) and caller["lost_ms"] == 20.0 * len(dropped)
    assert len(caller["talk_spurts"]) == 1
    assert "silent-media" not in {f["code"] for f in report["conversation"]["findings"]}


def test_output_that_is_a_file_is_refused_and_kept(cli, sentence, tmp_path) -> None:
    write_rtp_call(tmp_path / "c.pcap", g711_packets(_timeline(sentence[8000], 8000), ssrc=1), [])
    target = tmp_path / "taken"
    target.write_bytes(b"keep me")
    code, _, err = cli("audio", tmp_path / "c.pcap", "--call-id", CALL, "-o", target)
    assert code == 2 and "not a folder" in _one_error(err) and target.read_bytes() == b"keep me"


def test_hostile_call_id_cannot_steer_the_file_names(cli, sentence, tmp_path) -> None:
    hostile = "../../escape\x1b[31m/x"
    rtp = g711_packets(_timeline(sentence[8000], 8000), ssrc=1)
    write_rtp_call(tmp_path / "c.pcap", rtp, [], call_id=hostile)
    out = tmp_path / "a" / "b"
    code, stdout, err = cli("audio", tmp_path / "c.pcap", "--call-id", hostile, "-o", out)
    assert code == 0, err
    written = sorted(p.name for p in out.iterdir())
    assert len(written) == 2 and all(name.startswith("_.._escape__31m_x-") for name in written), written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "c.pcap"]
    assert "\x1b" not in stdout


def test_dash_is_not_a_folder(cli, sentence, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_rtp_call(tmp_path / "c.pcap", g711_packets(_timeline(sentence[8000], 8000), ssrc=1), [])
    code, _, err = cli("audio", "c.pcap", "--call-id", CALL, "-o", "-")
    assert code == 2 and "-o -" in _one_error(err) and not (tmp_path / "-").exists()
