"""The native and tshark (pyshark) engines produce the same records."""

from __future__ import annotations

import pytest

from tests.conftest import need_tool, shared_pcap
from tests.support.capture import DATA
from voxops.capture.engines import Engine, load_capture


def records(path, engine):  # type: ignore[no-untyped-def]
    result = load_capture(path, engine=engine)
    sip = [(p.frame, p.ts, p.src, p.sport, p.dst, p.dport, p.transport, p.raw) for p in result.sip]
    udp = result.udp
    rows = list(zip(udp.frame.tolist(), [udp.addresses[i] for i in udp.src], [udp.addresses[i] for i in udp.dst],
                    udp.sport.tolist(), udp.dport.tolist(), udp.length.tolist(),
                    [h.tobytes() for h in udp.head], strict=True))
    return sip, rows, [(p.frame, p.payload) for p in result.rtcp], result.packets


@pytest.mark.parametrize("name", ["udp_proxy.pcapng", "tcp_proxy.pcap", "fragmented.pcap"])
def test_engines_agree_on_generated_captures(name):
    need_tool("tshark")
    native = records(DATA / name, Engine.native)
    assert native[0], "no SIP found"
    assert records(DATA / name, Engine.tshark) == native


def test_engines_agree_on_sip_and_rtp():
    need_tool("tshark")
    path = shared_pcap("sip-rtp-ilbc.pcap")
    native = records(path, Engine.native)
    assert len(native[1]) == 286
    assert records(path, Engine.tshark) == native


def test_sip_over_tls_needs_the_tshark_engine_and_a_key_log(cli):
    need_tool("tshark")
    path, keys = DATA / "tls.pcap", DATA / "tls.keys"
    native = load_capture(path)
    assert native.sip == [] and "TLS stream" in native.warnings[0]  # the native engine cannot decrypt
    result = load_capture(path, engine=Engine.tshark, tls_keylog=keys)
    assert [p.msg.summary for p in result.sip] == [
        "INVITE", "100 Trying", "180 Ringing", "200 OK", "ACK", "BYE", "200 OK"]
    assert {p.transport for p in result.sip} == {"tls"}
    code, out, _ = cli("calls", path, "--engine", "tshark", "--tls-keylog", keys, "-f", "json")
    assert code == 0 and '"final_status": 200' in out
    code, _, err = cli("calls", path, "--tls-keylog", keys)
    assert code == 2 and "--engine tshark" in err


def test_diagnose_and_rtp_read_sip_over_tls_with_a_key_log(cli, tmp_path):
    import json
    import shutil

    need_tool("tshark")
    path, keys = tmp_path / "tls.pcap", DATA / "tls.keys"
    shutil.copy(DATA / "tls.pcap", path)  # an index is never written beside the checked-in file
    code, out, _ = cli("calls", path, "--engine", "tshark", "--tls-keylog", keys, "-f", "json")
    (row,) = json.loads(out)
    code, out, err = cli("diagnose", row["call_id"], "--pcap", path, "--tls-keylog", keys, "-f", "json")
    assert code in (0, 1), err
    assert json.loads(out)["final_status"] == 200
    code, out, err = cli("rtp", path, "--tls-keylog", keys, "-f", "json")
    assert code == 0, err
    code, _, err = cli("diagnose", row["call_id"], "--pcap", path, "--tls-keylog", tmp_path / "missing.keys")
    assert code == 2 and "--tls-keylog" in err


def test_tshark_engine_takes_the_innermost_ip_of_a_tunnel(tmp_path):
    from tests.support.capture import request
    from voxops.capture.writer import PcapWriter, ether, ipv4_header, udp_segment

    need_tool("tshark")
    inner = udp_segment(5060, 5060, request("INVITE", "tunnel@test"))
    packet = ipv4_header("10.1.0.1", "10.1.0.2", 17, len(inner)) + inner
    path = tmp_path / "ipip.pcap"
    writer = PcapWriter(path)
    writer.write(1.0, ether(ipv4_header("192.0.2.1", "192.0.2.2", 4, len(packet)) + packet))
    writer.close()
    (msg,) = load_capture(path, engine=Engine.tshark).sip
    assert (msg.src, msg.dst, msg.msg.call_id) == ("10.1.0.1", "10.1.0.2", "tunnel@test")


def test_tshark_engine_keeps_every_sip_message_of_a_frame(tmp_path):
    from tests.support.capture import request
    from voxops.capture.writer import PcapWriter, tcp_frame

    need_tool("tshark")
    two = request("OPTIONS", "first@test") + request("OPTIONS", "second@test")
    path = tmp_path / "two.pcap"
    writer = PcapWriter(path)
    writer.write(1.0, tcp_frame("10.1.0.1", 5060, "10.1.0.2", 5060, 1, two))
    writer.close()
    assert [p.msg.call_id for p in load_capture(path, engine=Engine.tshark).sip] == ["first@test", "second@test"]
    assert [p.msg.call_id for p in load_capture(path).sip] == ["first@test", "second@test"]
