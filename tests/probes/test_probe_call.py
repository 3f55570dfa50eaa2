"""`voxops probe --call`: a test call with audio through each SBC node, measured and judged.

The SBC node here is a scripted peer on 127.0.32.x that answers, echoes the audio after a
known delay, drops some of it or all of it, or misbehaves first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.probes.call_peer import CallPeer
from tests.probes.specs import write_probe_spec

NODE, CARRIER = "127.0.32.1", "127.0.32.10"


def _spec(tmp_path: Path, peer: CallPeer) -> Path:
    return write_probe_spec(
        tmp_path, trunk_hosts=[{"address": CARRIER, "port": 5060}], options_ping={"enabled": False},
        nodes=[{"name": "sbc-1", "address": NODE, "listen": [{"transport": "udp", "port": peer.port}]}],
    )  # fmt: skip


def _call(cli, spec: Path, *extra: str) -> tuple[int, dict]:
    code, out, err = cli("probe", str(spec), "--call", "--call-seconds", "1.2", "--format", "json", *extra)
    assert out, err
    return code, json.loads(out)


def test_an_echoing_node_gives_pdd_audio_both_ways_and_the_round_trip(tmp_path, cli) -> None:
    with CallPeer(NODE, ring_ms=80, echo_ms=60) as peer:
        code, report = _call(cli, _spec(tmp_path, peer))
    (call,) = report["calls"]
    assert code == 0 and report["findings"] == []
    assert call["node"] == "sbc-1" and call["status"] == 200 and call["bye_status"] == 200
    assert 80 <= call["pdd_ms"] < 1000
    assert call["rtp_sent"] == 60 and call["rtp_received"] == 60 and call["loss_percent"] == 0
    assert 55 <= call["round_trip_ms"] < 200  # the peer's 60 ms hold, plus scheduling
    assert call["mos"] > 4.0 and call["relay"] is None
    # every call on its own ports: the RTP socket is not the SIP socket
    assert call["rtp_local"].startswith(CARRIER) and call["rtp_local"] != call["source"]
    bye = [m for m in peer.received if m.startswith(b"BYE")]
    assert bye and f"Call-ID: {call['call_id']}".encode() in bye[0]


def test_audio_that_never_comes_back_is_one_way(tmp_path, cli) -> None:
    with CallPeer(NODE, echo=False) as peer:
        spec = _spec(tmp_path, peer)
        code, report = _call(cli, spec)
        nagios, out, _ = cli("probe", str(spec), "--call", "--call-seconds", "0.4", "--nagios")
    assert code == 1 and [f["code"] for f in report["findings"]] == ["one-way-audio"]
    assert report["findings"][0]["evidence"]["node"] == "sbc-1"
    assert nagios == 2 and out.startswith("SIP_TEST_CALL CRITICAL")


def test_audio_that_dies_after_the_first_packet_is_one_way_not_loss(tmp_path, cli) -> None:
    with CallPeer(NODE, echo_only=1) as peer:
        code, report = _call(cli, _spec(tmp_path, peer))
    assert code == 1 and [f["code"] for f in report["findings"]] == ["one-way-audio"]
    assert "only 1 of 60 RTP packets came back" in report["findings"][0]["message"]


def test_lost_audio_and_its_mos_are_reported(tmp_path, cli) -> None:
    with CallPeer(NODE, drop_every=5) as peer:
        code, report = _call(cli, _spec(tmp_path, peer))
    (call,) = report["calls"]
    assert 15 <= call["loss_percent"] <= 25
    assert {"packet-loss", "low-mos"} <= {f["code"] for f in report["findings"]}
    assert code == 1


@pytest.mark.parametrize(("final", "code"), [("503 Media Relay Unavailable", "media-relay-down"),
                                              ("486 Busy Here", "setup-failed")])
def test_a_refused_call_names_why(tmp_path, cli, final, code) -> None:
    with CallPeer(NODE, final=final) as peer:
        exit_code, report = _call(cli, _spec(tmp_path, peer))
    assert exit_code == 1 and [f["code"] for f in report["findings"]] == [code]
    assert report["calls"][0]["status"] == int(final[:3]) and report["calls"][0]["rtp_sent"] == 0


def test_an_answer_without_sdp_is_no_media(tmp_path, cli) -> None:
    with CallPeer(NODE, sdp=False) as peer:
        _, report = _call(cli, _spec(tmp_path, peer))
    assert [f["code"] for f in report["findings"]] == ["no-media"]


def test_another_calls_answer_and_garbage_are_not_taken_for_this_call(tmp_path, cli) -> None:
    with CallPeer(NODE, spoof_first=True) as peer:
        media_port = peer.rtp.getsockname()[1]
        code, report = _call(cli, _spec(tmp_path, peer))
    (call,) = report["calls"]
    assert code == 0 and call["status"] == 200
    assert call["rtp_remote"] == f"{NODE}:{media_port}"  # not the spoofed port 1
    assert call["rtp_received"] == call["rtp_sent"]


def test_prometheus_textfile_holds_the_call_figures(tmp_path, cli) -> None:
    prom = tmp_path / "call.prom"
    with CallPeer(NODE) as peer:
        code, _ = _call(cli, _spec(tmp_path, peer), "--prometheus", str(prom))
    text = prom.read_text()
    assert code == 0
    assert 'voxops_probe_call_answered{node="sbc-1",target="127.0.32.1:' in text
    assert "voxops_probe_call_rtp_received{" in text and "voxops_probe_call_mos{" in text
    assert "voxops_probe_call_relay_packets_from_caller" in text  # HELP/TYPE even without a relay


def test_no_node_answering_is_setup_failed_within_the_timeout(tmp_path, cli) -> None:
    spec = write_probe_spec(tmp_path, trunk_hosts=[{"address": CARRIER, "port": 5060}], options_ping={"enabled": False},
                      nodes=[{"name": "sbc-1", "address": "127.0.32.2", "listen": [{"transport": "udp", "port": 9}]}])
    code, report = _call(cli, spec, "--timeout", "1")
    assert code == 1 and [f["code"] for f in report["findings"]] == ["setup-failed"]


def test_an_unknown_node_is_invalid_input(tmp_path, cli) -> None:
    with CallPeer(NODE) as peer:
        code, out, err = cli("probe", str(_spec(tmp_path, peer)), "--call", "--target", "nope")
    assert code == 2 and "nope" in err and "Traceback" not in err
