"""The native reader agrees with tshark on Call-IDs, message counts and final statuses."""

from __future__ import annotations

import pytest

from tests.conftest import need_tool, shared_pcap
from tests.support.capture import DATA, REAL_CAPTURES, tshark_summary, voxops_summary

SHARED_WITH_SIP = ["sip-rtp-ilbc.pcap", "sip-rtp-l16.pcap", "sipp_uac_Media_DTMF_Speex.pcap"]
SHARED_WITHOUT_SIP = ["sipp_uac_ssrc_change.pcap", "mario_choppy_speech.pcap", "rtp_pcmu_recv.pcap",
                      "RTP_2min_cisco_hold.pcap"]


@pytest.mark.parametrize(("name", "extra"), REAL_CAPTURES)
def test_generated_captures_match_tshark(name, extra):
    need_tool("tshark")
    path = DATA / name
    expected = tshark_summary(path, extra)
    assert expected, "tshark found no SIP: the capture is not what the test expects"
    assert voxops_summary(path) == expected


@pytest.mark.parametrize("name", SHARED_WITH_SIP)
def test_shared_captures_match_tshark(name):
    need_tool("tshark")
    path = shared_pcap(name)
    assert voxops_summary(path) == tshark_summary(path)


@pytest.mark.parametrize("name", SHARED_WITHOUT_SIP)
def test_rtp_only_captures_have_no_dialogs_and_all_udp(name):
    from voxops.capture import scan

    path = shared_pcap(name)
    result = scan(path)
    assert result.sip == []
    assert len(result.udp) > 0
    assert result.udp.frame.max() <= result.packets
