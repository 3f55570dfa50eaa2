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
