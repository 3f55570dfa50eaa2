"""SIPp scenarios the lab writes are well-formed and say what each carrier mode promises."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from voxops.lab.scenarios import CarrierMode, _ulaw, caller_scenario, carrier_scenario, write_media


def _parse(text: str) -> ET.Element:
    return ET.fromstring(text.split("\n", 2)[2])  # drop the XML declaration and DOCTYPE


@pytest.mark.parametrize("mode", list(CarrierMode))
def test_carrier_scenarios_parse(tmp_path, mode):
    audio, g729 = write_media(tmp_path)
    root = _parse(carrier_scenario(mode, audio=audio, g729=g729))
    sends = [s.text or "" for s in root.iter("send")]
    streams = [e.get("rtp_stream") for e in root.iter("exec")]
    if mode in (CarrierMode.reject, CarrierMode.busy):
        status = "503 Service Unavailable" if mode is CarrierMode.reject else "486 Busy Here"
        assert any(status in s for s in sends) and not any("200 OK" in s for s in sends)
        assert not streams
    elif mode is CarrierMode.transcode:
        answer = next(s for s in sends if "200 OK" in s and "m=audio" in s)
        assert "RTP/AVP 18" in answer and "G729/8000" in answer
        assert streams == [f"{g729},-1,18"]
    elif mode is CarrierMode.one_way:
        assert not streams
    else:
        assert streams == [f"{audio},-1,0"]
    if mode is CarrierMode.slow:
        assert any(p.get("milliseconds") == "3000" for p in root.iter("pause"))


def test_caller_follows_the_route_set_and_logs_every_outcome(tmp_path):
    audio, _ = write_media(tmp_path)
    root = _parse(caller_scenario(audio=audio, hold_ms=1500))
    answer = [r for r in root.iter("recv") if r.get("response") == "200" and r.get("rrs") == "true"]
    assert answer, "the 200 must record the route set (record-routing SBC)"
    in_dialog = [s.text or "" for s in root.iter("send") if (s.text or "").lstrip().startswith(("ACK [next_url]", "BYE"))]
    assert len(in_dialog) == 2 and all("[routes]" in s for s in in_dialog)
    logged = {r.get("response") for r in root.iter("recv") if r.find("action/log") is not None}
    assert {"200", "486", "503"} <= logged


def test_ulaw_reference_values():
    # G.711 mu-law: silence encodes to 0xFF, full scale to 0x80 / 0x00
    assert _ulaw(0) == 0xFF
    assert _ulaw(32767) == 0x80
    assert _ulaw(-32768) == 0x00
