"""Calls whose hops only ports or the SDP tell apart: the ladder keeps each hop's direction
when two hops share one IP."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.analysis import sbc_synthetic as node
from voxops.analysis.ladder import build_ladder
from voxops.capture.engines import Engine
from voxops.views.ladder import load_call

HOST = "127.0.33.1"  # caller, SBC and agent on one host: only the SIP ports differ
CALLER, SBC, AGENT = (HOST, 5080), (HOST, 5060), (HOST, 5070)
CALLER_MEDIA, AGENT_MEDIA = (HOST, 30000), (HOST, 40000)


@pytest.fixture(scope="module")
def sc():
    return node.scenarios()


def _one_host_call(sc, path: Path) -> Path:
    call = sc.Call("onehost@test", CALLER)
    offer, answer = sc.sdp(CALLER_MEDIA, [0]), sc.sdp(AGENT_MEDIA, [0])
    call.request(0.0, "INVITE", CALLER, SBC, offer)
    call.response(0.01, 100, "Trying", SBC, CALLER)
    call.request(0.02, "INVITE", SBC, AGENT, offer)
    call.response(0.5, 200, "OK", AGENT, SBC, body=answer)
    call.response(0.51, 200, "OK", SBC, CALLER, body=answer)
    call.request(0.55, "ACK", CALLER, SBC)
    call.request(0.56, "ACK", SBC, AGENT)
    call.rtp(0.6, CALLER_MEDIA, AGENT_MEDIA, 0, 2.0)
    call.rtp(0.6, AGENT_MEDIA, CALLER_MEDIA, 0, 2.0)
    call.request(3.0, "BYE", CALLER, SBC, cseq=2)
    call.request(3.01, "BYE", SBC, AGENT, cseq=2)
    call.response(3.02, 200, "OK", AGENT, SBC, method="BYE", cseq=2)
    call.response(3.03, 200, "OK", SBC, CALLER, method="BYE", cseq=2)
    call.packets.sort(key=lambda p: p.time)
    sc.write_pcap(path, call.packets)
    return path


def test_hops_on_one_ip_keep_their_direction(sc, tmp_path: Path) -> None:
    pcap = _one_host_call(sc, tmp_path / "onehost.pcap")
    dialogs, udp = load_call(pcap, ["onehost@test"], (), engine=Engine.native, tls_keylog=None, warn=lambda _m: None)
    ladder = build_ladder(dialogs, udp=udp)
    assert ladder.columns == [f"{HOST}:5080", f"{HOST}:5060", f"{HOST}:5070"]
    hops = [(a.label, ladder.columns[a.src].rsplit(":", 1)[1], ladder.columns[a.dst].rsplit(":", 1)[1])
            for a in ladder.arrows]
    assert hops[:7] == [("INVITE", "5080", "5060"), ("100 Trying", "5060", "5080"), ("INVITE", "5060", "5070"),
                        ("200 OK", "5070", "5060"), ("200 OK", "5060", "5080"), ("ACK", "5080", "5060"),
                        ("ACK", "5060", "5070")]
    # media goes end to end: from the column of the hop whose SDP announced it
    assert sorted((s.src, s.dst) for s in ladder.spans) == [(0, 2), (2, 0)]


def test_hosts_on_their_own_ips_keep_one_column_each(sc, tmp_path: Path) -> None:
    pcap = sc.build("clean-call", tmp_path)
    dialogs, udp = load_call(pcap, [sc.call_id("clean-call")], (), engine=Engine.native, tls_keylog=None,
                             warn=lambda _m: None)
    ladder = build_ladder(dialogs, udp=udp)
    assert ladder.columns == ["127.0.9.11", "127.0.9.1", "127.0.9.21"]
