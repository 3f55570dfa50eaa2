"""`voxops ladder --audio`: an energy lane per direction with talk spurts and response gaps
(SVG, PNG, HTML), and the HTML plays each direction's decoded audio."""

from __future__ import annotations

import base64
import io
import re
import wave
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.audio.support import MEDIA_START, RATE, correlation, g711_packets
from tests.audio.test_call_stats import AGENT_2, CARRIER_B, T0, _turns
from voxops.capture.writer import write_rtp_call
from voxops.cli.main import build_app

CALL = "lanes@test"


@pytest.fixture(scope="module")
def call(tmp_path_factory) -> tuple[Path, np.ndarray, np.ndarray]:
    """Caller turns answered 700 ms and 2000 ms later (the second above the 1.5 s SLO)."""
    caller, agent, _ = _turns([700, 2000])
    path = tmp_path_factory.mktemp("lanes") / "call.pcap"
    write_rtp_call(path, g711_packets(caller, ssrc=1), g711_packets(agent, ssrc=2), call_id=CALL,
                   caller=CARRIER_B, agent=AGENT_2, t0=T0)
    return path, caller, agent


def _ladder(pcap: Path, out: Path, *extra: str) -> CliRunner:
    done = CliRunner().invoke(build_app(), ["ladder", str(pcap), "--call-id", CALL, "-o", str(out), *extra])
    assert done.exit_code == 0, done.output
    return done


def test_svg_draws_an_energy_lane_per_direction_with_spurts_and_the_measured_gaps(call, tmp_path: Path) -> None:
    _ladder(call[0], tmp_path / "l.svg", "--audio", "-f", "svg")
    svg = (tmp_path / "l.svg").read_text()
    assert svg.count('id="energy') == 2
    assert svg.count('id="talk-spurt') == 5  # 2 caller turns; the agent's greeting and 2 answers
    labels = re.findall(r'id="response-gap-label[^"]*">.*?<text[^>]*>([^<]*)</text>', svg, re.S)
    assert len(labels) == 2 and abs(int(labels[0].split()[0]) - 700) <= 40 and abs(int(labels[1].split()[0]) - 2000) <= 40
    assert "caller 10.2.0.3:40010 \u2192 agent" in svg and "agent 10.2.0.4:50010 \u2192 caller" in svg
    _ladder(call[0], tmp_path / "plain.svg", "-f", "svg")
    assert 'id="energy' not in (tmp_path / "plain.svg").read_text()


def test_png_with_audio_is_taller_by_the_lanes(call, tmp_path: Path) -> None:
    from PIL import Image

    _ladder(call[0], tmp_path / "a.png", "--audio", "-f", "png")
    _ladder(call[0], tmp_path / "b.png", "-f", "png")
    with Image.open(tmp_path / "a.png") as a, Image.open(tmp_path / "b.png") as b:
        assert a.width == b.width and a.height > b.height + 200


def _players(html: str) -> list[tuple[np.ndarray, int]]:
    out = []
    for data in re.findall(r'<audio class="direction" controls preload="metadata" src="data:audio/wav;base64,([A-Za-z0-9+/=]*)"', html):
        with wave.open(io.BytesIO(base64.b64decode(data))) as w:
            out.append((np.frombuffer(w.readframes(w.getnframes()), "<i2"), w.getframerate()))
    return out


def test_html_plays_each_direction_as_sent(call, tmp_path: Path) -> None:
    _ladder(call[0], tmp_path / "l.html", "--audio", "-f", "html")
    html = (tmp_path / "l.html").read_text()
    players = _players(html)
    assert [rate for _, rate in players] == [RATE, RATE]
    start = int(MEDIA_START * RATE)
    for (pcm, _), sent in zip(players, call[1:], strict=True):
        assert correlation(pcm[start: start + len(sent)], sent) > 0.95
    assert html.count('class="response-gap"') == 2 and "embedded" not in html


def test_html_embeds_a_bounded_length_and_says_so(call, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from voxops.views import ladder_audio

    monkeypatch.setattr(ladder_audio, "EMBED_MAX_S", 2.0)
    _ladder(call[0], tmp_path / "l.html", "--audio", "-f", "html")
    html = (tmp_path / "l.html").read_text()
    assert [len(pcm) for pcm, _ in _players(html)] == [2 * RATE, 2 * RATE]
    assert html.count("the first 2 s of") == 2


def test_hostile_addresses_and_call_ids_stay_text(tmp_path: Path) -> None:
    """A Call-ID with markup is escaped in the lanes' page like everywhere in the ladder."""
    caller, agent, _ = _turns([500])
    hostile = 'x"><script>alert(1)</script>@test'
    write_rtp_call(tmp_path / "h.pcap", g711_packets(caller, ssrc=1), g711_packets(agent, ssrc=2), call_id=hostile)
    done = CliRunner().invoke(build_app(), ["ladder", str(tmp_path / "h.pcap"), "--call-id", hostile, "--audio",
                                            "-f", "html", "-o", str(tmp_path / "h.html")])
    assert done.exit_code == 0, done.output
    html = (tmp_path / "h.html").read_text()
    assert "<script>alert" not in html and len(_players(html)) == 2


def test_audio_lanes_in_text_or_mermaid_are_refused(call, cli) -> None:
    for fmt in ("text", "mermaid"):
        code, out, err = cli("ladder", call[0], "--call-id", CALL, "--audio", "-f", fmt)
        assert code == 2 and out == "" and "svg, png and html" in err and "Traceback" not in err


def test_audio_lanes_of_a_call_without_rtp_are_a_clear_error(cli, tmp_path: Path) -> None:
    write_rtp_call(tmp_path / "s.pcap", [], [], call_id=CALL)
    code, _, err = cli("ladder", tmp_path / "s.pcap", "--audio", "-f", "svg", "-o", tmp_path / "s.svg")
    assert code == 2 and "no RTP" in err and "Traceback" not in err and not (tmp_path / "s.svg").exists()


def test_a_label_of_unicode_digits_is_a_request_not_a_status() -> None:
    """'²' and '٣' are digits to str.isdigit but no status code: no ValueError."""
    from voxops.analysis.ladder import Arrow
    from voxops.views.ladder_layout import _status

    for label in ("\u00b2", "\u0663\u0660\u0660 OK"):
        arrow = Arrow(index=0, ts=0.0, delta_ms=0.0, src=0, dst=1, label=label, call_id="", leg=0, frame=1, transport="UDP",
                      retransmission=False, sdp=None, src_addr="", dst_addr="", text="")
        assert arrow.kind == "request" and _status(arrow) is None
