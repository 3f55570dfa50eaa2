"""The native and tshark (pyshark) engines produce the same records."""

from __future__ import annotations

import pytest

from tests.capture.support import DATA
from tests.conftest import need_tool, shared_pcap
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
