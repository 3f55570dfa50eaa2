"""m=video and m=image are media sections of their own: never judged against the audio line."""

from __future__ import annotations

from pathlib import Path

from tests.analysis.sbc_synthetic import scenarios
from voxops.analysis.diagnosis import diagnose_call
from voxops.analysis.loader import analyse_capture
from voxops.analysis.policy import Policy

VIDEO = "m=video {port} RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=sendrecv\r\n"
FAX = "v=0\r\no=- 1 2 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=image {port} udptl t38\r\n"


def _diagnose(path: Path, call_id: str) -> set[str]:
    analysis = analyse_capture(path)
    result = diagnose_call(analysis.dialogs, analysis.streams, call_id, Policy())
    return {f.code for f in result.findings}


def _answered(sc, call, offer: str, answer: str) -> None:
    call.request(0.0, "INVITE", sc.CARRIER_A, sc.AGENT, offer)
    call.response(0.3, 200, "OK", sc.AGENT, sc.CARRIER_A, body=answer)
    call.request(0.35, "ACK", sc.CARRIER_A, sc.AGENT)


def test_video_rtp_is_not_judged_against_the_audio_line(tmp_path):
    sc = scenarios()
    call = sc.Call("video@voxops", caller=sc.CARRIER_A)
    (ca_ip, ca_port), (ag_ip, ag_port) = sc.CARRIER_MEDIA, sc.AGENT_MEDIA
    _answered(sc, call, sc.sdp(sc.CARRIER_MEDIA, [0]) + VIDEO.format(port=ca_port + 2),
              sc.sdp(sc.AGENT_MEDIA, [0]) + VIDEO.format(port=ag_port + 2))
    for src, dst, pt in (((ca_ip, ca_port), (ag_ip, ag_port), 0), ((ag_ip, ag_port), (ca_ip, ca_port), 0),
                         ((ca_ip, ca_port + 2), (ag_ip, ag_port + 2), 96),
                         ((ag_ip, ag_port + 2), (ca_ip, ca_port + 2), 96)):
        call.rtp(0.4, src, dst, pt, 3.0)
    call.request(3.5, "BYE", sc.CARRIER_A, sc.AGENT, cseq=2)
    path = tmp_path / "video.pcap"
    sc.write_pcap(path, call.packets)
    assert _diagnose(path, call.call_id) == set()


def test_a_switch_to_t38_is_not_media_stopping(tmp_path):
    sc = scenarios()
    call = sc.Call("fax@voxops", caller=sc.CARRIER_A)
    _answered(sc, call, sc.sdp(sc.CARRIER_MEDIA, [0]), sc.sdp(sc.AGENT_MEDIA, [0]))
    call.rtp(0.4, sc.CARRIER_MEDIA, sc.AGENT_MEDIA, 0, 2.0)
    call.rtp(0.4, sc.AGENT_MEDIA, sc.CARRIER_MEDIA, 0, 2.0)
    call.cseq = 2  # the answerer asks for fax on the same ports
    call.request(2.5, "INVITE", sc.AGENT, sc.CARRIER_A, FAX.format(ip=sc.AGENT_MEDIA[0], port=sc.AGENT_MEDIA[1]))
    call.response(2.6, 200, "OK", sc.CARRIER_A, sc.AGENT,
                  body=FAX.format(ip=sc.CARRIER_MEDIA[0], port=sc.CARRIER_MEDIA[1]))
    call.request(2.65, "ACK", sc.AGENT, sc.CARRIER_A)
    call.request(20.0, "BYE", sc.CARRIER_A, sc.AGENT, cseq=3)
    path = tmp_path / "fax.pcap"
    sc.write_pcap(path, call.packets)
    assert _diagnose(path, call.call_id) == set()
