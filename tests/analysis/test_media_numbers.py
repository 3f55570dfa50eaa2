"""Numbers users can trust: telephone-event out of jitter, MOS per codec (none for an
unknown codec), whole streams in the ladder of a call without BYE."""

from __future__ import annotations

import pytest

from tests.analysis.sbc_synthetic import scenarios
from tests.conftest import shared_pcap
from voxops.analysis.diagnosis import diagnose_call
from voxops.analysis.dialogs import dialogs_for
from voxops.analysis.loader import analyse_capture
from voxops.analysis.policy import Policy

DTMF = "sipp_uac_Media_DTMF_Speex.pcap"


def test_telephone_events_do_not_make_jitter_on_a_dtmf_call():
    analysis = analyse_capture(shared_pcap(DTMF))
    (events,) = [s for s in analysis.streams if s.telephone_events]
    assert events.telephone_events == 340 and events.packets == 1144
    assert events.max_jitter_ms < 1.0  # tshark: 90.9 ms, from timing the events as voice
    (d,) = [d for d in analysis.dialogs if d.method == "INVITE"]
    result = diagnose_call(dialogs_for(analysis.dialogs, [d.call_id]), analysis.streams, d.call_id, Policy())
    assert "high-jitter" not in {f.code for f in result.findings}


def test_ladder_draws_the_whole_stream_of_a_call_without_bye():
    from voxops.analysis.ladder import build_ladder
    from voxops.capture.engines import Engine
    from voxops.views.ladder import load_call

    path = shared_pcap(DTMF)
    (d,) = [d for d in analyse_capture(path).dialogs if d.method == "INVITE"]
    dialogs, udp = load_call(path, [d.call_id], ("X-CID",), engine=Engine.native, tls_keylog=None, warn=None)
    spans = build_ladder(dialogs, udp=udp).spans
    assert sorted(s.packets for s in spans) == [975, 1144]
    assert all(s.cut_at is None for s in spans)


@pytest.mark.parametrize(("name", "codec", "r_factor"), [
    ("sip-rtp-ilbc.pcap", "iLBC", 83.2),  # G.113: Ie 10
    ("sip-rtp-l16.pcap", "L16", 93.2),  # uncompressed: Ie 0
])
def test_mos_uses_the_codecs_own_impairment(name, codec, r_factor):
    streams = analyse_capture(shared_pcap(name)).streams
    clean = [s for s in streams if s.lost == 0 and s.jitter_buffer_discards == 0]
    assert clean and all(s.codec == codec and s.r_factor == r_factor for s in clean)


def test_an_unknown_codec_gets_no_mos_and_says_why(tmp_path):
    sc = scenarios()
    call = sc.Call("unknown-codec@voxops", caller=sc.CARRIER_A)
    offer = sc.sdp(sc.CARRIER_MEDIA, [0]).replace("RTP/AVP 0", "RTP/AVP 96").replace("a=rtpmap:0 PCMU/8000",
                                                                                      "a=rtpmap:96 X-VENDOR/8000")
    answer = offer.replace(sc.CARRIER_MEDIA[0], sc.AGENT_MEDIA[0]).replace(str(sc.CARRIER_MEDIA[1]),
                                                                           str(sc.AGENT_MEDIA[1]))
    call.request(0.0, "INVITE", sc.CARRIER_A, sc.AGENT, offer)
    call.response(0.2, 200, "OK", sc.AGENT, sc.CARRIER_A, body=answer)
    call.request(0.25, "ACK", sc.CARRIER_A, sc.AGENT)
    call.rtp(0.3, sc.CARRIER_MEDIA, sc.AGENT_MEDIA, 96, 1.0)
    path = tmp_path / "unknown.pcap"
    sc.write_pcap(path, call.packets)
    (stream,) = analyse_capture(path).streams
    assert stream.codec == "X-VENDOR" and stream.mos is None and stream.r_factor is None
    assert stream.mos_method is not None and "unknown codec X-VENDOR" in stream.mos_method


def test_heuristic_skips_well_known_ports_of_other_protocols(tmp_path):
    import struct

    from voxops.analysis.dialogs import build_dialogs
    from voxops.analysis.streams import find_streams
    from voxops.capture import scan
    from voxops.capture.writer import PcapWriter, udp_frame

    path = tmp_path / "lookalikes.pcap"
    writer = PcapWriter(path)
    # DNS and NetBIOS datagrams whose first bytes read as RTP v2 PCMU, then a real stream
    for n in range(10):
        fake = struct.pack("!BBHII", 0x80, 0, n, n * 160, 0x1234) + bytes(40)
        writer.write(1.0 + n * 0.02, udp_frame("10.0.0.1", 40000, "10.0.0.53", 53, fake))
        writer.write(1.0 + n * 0.02, udp_frame("10.0.0.1", 137, "10.0.0.255", 137, fake))
        writer.write(1.0 + n * 0.02, udp_frame("10.0.0.1", 16000, "10.0.0.2", 16002, fake[:1] + b"\x00" + fake[2:]))
    writer.close()
    result = scan(path)
    streams, _ = find_streams(result, build_dialogs(result.sip), heuristic=True)
    assert [(s.src, s.dst) for s in streams] == [("10.0.0.1:16000", "10.0.0.2:16002")]
