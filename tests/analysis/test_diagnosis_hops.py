"""Diagnosis of proxied calls: offer/answer per hop, failover 503s, 486 from the agent pool.

The captures come from the docs' scenario generator (calls through a proxy that keeps the
Call-ID on both hops), written at test time, plus variants built with the same `Call`.
"""

from __future__ import annotations

import struct
from pathlib import Path
from types import ModuleType

import pytest

from tests.analysis.sbc_synthetic import scenarios
from voxops.analysis.diagnosis import CallDiagnosis, diagnose_call
from voxops.analysis.loader import load_call, policy_for

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "voxops" / "data" / "inventories" / "local"
MEDIA_CODES = {"one-way-audio", "no-media", "media-address-mismatch"}


@pytest.fixture(scope="module")
def sc() -> ModuleType:
    return scenarios()


def diagnose(path: Path, call_id: str, spec: Path | None = SPEC) -> CallDiagnosis:
    dialogs, streams = load_call(path, call_id, use_index=False)
    return diagnose_call(dialogs, streams, call_id, policy_for(spec))


def scenario(sc: ModuleType, runbook_id: str, tmp_path: Path) -> CallDiagnosis:
    return diagnose(sc.build(runbook_id, tmp_path), sc.call_id(runbook_id))


def write(sc: ModuleType, call, tmp_path: Path) -> Path:
    path = tmp_path / "call.pcap"
    sc.write_pcap(path, call.packets)
    return path


@pytest.mark.parametrize("runbook_id", ["high-pdd", "packet-loss-low-mos", "silent-transcoding"])
def test_forwarded_invite_is_not_the_answer(sc, tmp_path, runbook_id):
    # RTP flows both ways end to end: the answer is the agent's 200 OK, not the SBC's
    # copy of the INVITE toward the agent.
    result = scenario(sc, runbook_id, tmp_path)
    codes = {f.code for f in result.findings}
    assert not codes & MEDIA_CODES, result.findings
    assert result.codecs.offer is not None and result.codecs.answer is not None
    assert (result.codecs.offer.address, result.codecs.offer.port) == sc.CARRIER_MEDIA
    assert (result.codecs.answer.address, result.codecs.answer.port) == sc.AGENT_MEDIA
    assert result.codecs.answer.sender == f"{sc.SBC[0]}:{sc.SBC[1]}" # the 200 OK back on the caller's hop
    assert result.codecs.seen_reverse == [0]
    assert ("transcoding" in codes) == (runbook_id == "silent-transcoding")


def test_one_way_audio_still_named_on_a_proxied_call(sc, tmp_path):
    result = scenario(sc, "one-way-audio", tmp_path)
    one_way = next(f for f in result.findings if f.code == "one-way-audio")
    assert one_way.evidence["present"] == "answerer->offerer"
    assert "private-media-address" in {f.code for f in result.findings}


def _anchored(sc: ModuleType, call, agent_sends: bool) -> None:
    """The SBC anchors media: each hop has its own SDP and its own RTP."""
    sbc_out, sbc_in = ("127.0.9.1", 20000), ("127.0.9.1", 20002)
    call.request(0.0, "INVITE", sc.CARRIER_A, sc.SBC, sc.sdp(sc.CARRIER_MEDIA, [0]))
    call.request(0.02, "INVITE", sc.SBC, sc.AGENT, sc.sdp(sbc_out, [0]))
    call.response(0.3, 200, "OK", sc.AGENT, sc.SBC, body=sc.sdp(sc.AGENT_MEDIA, [0]))
    call.response(0.31, 200, "OK", sc.SBC, sc.CARRIER_A, body=sc.sdp(sbc_in, [0]))
    call.request(0.35, "ACK", sc.CARRIER_A, sc.SBC)
    call.request(0.36, "ACK", sc.SBC, sc.AGENT)
    call.rtp(0.4, sc.CARRIER_MEDIA, sbc_in, 0, 1.0)
    call.rtp(0.4, sbc_in, sc.CARRIER_MEDIA, 0, 1.0)
    call.rtp(0.41, sbc_out, sc.AGENT_MEDIA, 0, 1.0)
    if agent_sends:
        call.rtp(0.41, sc.AGENT_MEDIA, sbc_out, 0, 1.0)
    call.request(1.6, "BYE", sc.CARRIER_A, sc.SBC, cseq=2)
    call.request(1.61, "BYE", sc.SBC, sc.AGENT, cseq=2)


@pytest.mark.parametrize("agent_sends", [True, False])
def test_each_hop_is_matched_to_its_own_sdp(sc, tmp_path, agent_sends):
    call = sc.Call("anchored@voxops", caller=sc.CARRIER_A)
    _anchored(sc, call, agent_sends)
    result = diagnose(write(sc, call, tmp_path), call.call_id)
    codes = {f.code for f in result.findings}
    assert "media-address-mismatch" not in codes and "no-media" not in codes
    assert ("one-way-audio" in codes) is not agent_sends, result.findings
    if not agent_sends:  # the silent direction is on the agent's hop
        one_way = next(f for f in result.findings if f.code == "one-way-audio")
        assert one_way.evidence["streams"] == ["127.0.9.1:20000 -> 127.0.9.21:40000"]


def test_503_before_a_failover_is_reported_as_a_warning(sc, tmp_path):
    result = scenario(sc, "503-spike", tmp_path)
    assert result.final_status == 200
    hit = [f for f in result.findings if f.code == "service-unavailable"]
    assert len(hit) == 1 and hit[0].runbook == "503-spike"
    assert hit[0].severity.value == "warning"
    assert hit[0].evidence["status"] == 503 and hit[0].evidence["answered_by"] == "127.0.9.11:5060"
    assert "carrier-a" in hit[0].message


def _refused_outbound(sc: ModuleType, tmp_path: Path, code: int, reason: str) -> CallDiagnosis:
    """agent-1 -> sbc-1 -> carrier-a, refused by the carrier; the SBC relays the refusal."""
    call = sc.Call(f"outbound{code}@voxops", caller=sc.AGENT)
    call.request(0.0, "INVITE", sc.AGENT, sc.SBC, sc.sdp(sc.AGENT_MEDIA, [0]))
    call.request(0.02, "INVITE", sc.SBC, sc.CARRIER_A, sc.sdp(sc.AGENT_MEDIA, [0]))
    call.response(0.5, code, reason, sc.CARRIER_A, sc.SBC)
    call.response(0.51, code, reason, sc.SBC, sc.AGENT)
    return diagnose(write(sc, call, tmp_path), call.call_id)


def test_503_that_ends_the_call_stays_an_error(sc, tmp_path):
    result = _refused_outbound(sc, tmp_path, 503, "Service Unavailable")
    hit = [f for f in result.findings if f.code == "service-unavailable"]
    assert [f.severity.value for f in hit] == ["error"]


def test_486_from_an_agent_points_at_the_pool(sc, tmp_path):
    path = sc.build("agent-pool-saturated", tmp_path)
    for spec in (SPEC, None):  # with the spec (the callee is agent-1) and without one
        result = diagnose(path, sc.call_id("agent-pool-saturated"), spec)
        assert [(f.code, f.runbook) for f in result.findings] == [("busy-here", "agent-pool-saturated")]


def test_486_from_a_carrier_is_not_our_pool(sc, tmp_path):
    # An agent's outbound call: the carrier's callee is busy; the SBC relays the 486.
    result = _refused_outbound(sc, tmp_path, 486, "Busy Here")
    assert [(f.code, f.runbook) for f in result.findings] == [("setup-failed", "asr-drop")]


def test_a_relay_that_drops_the_agents_audio_is_named(sc, tmp_path):
    # agent-1 sends to the SBC's agent-side port; the SBC forwards nothing to carrier-a
    call = sc.Call("relay-drop@voxops", caller=sc.CARRIER_A)
    _anchored(sc, call, agent_sends=True)
    call.packets = [p for p in call.packets if not (p.src == ("127.0.9.1", 20002) and p.dst == sc.CARRIER_MEDIA)]
    result = diagnose(write(sc, call, tmp_path), call.call_id)
    (drop,) = [f for f in result.findings if f.code == "relay-drops-media"]
    assert drop.message == "sbc-1 receives agent-1's audio (50 packets) but forwards nothing to carrier-a"
    assert (drop.evidence["node"], drop.evidence["hop"]) == ("sbc-1", "sbc-1 -> carrier-a")
    # a relay that starts dropping just after the answer lets the first packet through
    late = sc.Call("relay-late-drop@voxops", caller=sc.CARRIER_A)
    _anchored(sc, late, agent_sends=True)
    to_carrier = [p for p in late.packets if p.src == ("127.0.9.1", 20002) and p.dst == sc.CARRIER_MEDIA]
    late.packets = [p for p in late.packets if p not in to_carrier[1:]]
    (drop,) = [f for f in diagnose(write(sc, late, tmp_path), late.call_id).findings if f.code == "relay-drops-media"]
    assert drop.message == "sbc-1 receives agent-1's audio (50 packets) but forwards only 1 packet to carrier-a"
    clean = sc.Call("relay-ok@voxops", caller=sc.CARRIER_A)
    _anchored(sc, clean, agent_sends=True)
    assert "relay-drops-media" not in {f.code for f in diagnose(write(sc, clean, tmp_path), clean.call_id).findings}


def _relay_forwards_nothing_to_the_carrier(sc, tmp_path, call_id: str, agent_sends: bool) -> list:
    """carrier-a -> sbc-1 (anchoring media) -> agent-1, sbc-1 sending nothing to carrier-a:
    the media findings of the diagnosis."""
    call = sc.Call(call_id, caller=sc.CARRIER_A)
    _anchored(sc, call, agent_sends=agent_sends)
    call.packets = [p for p in call.packets if not (p.src == ("127.0.9.1", 20002) and p.dst == sc.CARRIER_MEDIA)]
    result = diagnose(write(sc, call, tmp_path), call.call_id)
    return [f for f in result.findings if f.code in MEDIA_CODES | {"relay-drops-media"}]


def test_audio_a_relay_drops_is_the_relays_finding_not_a_one_way_call(sc, tmp_path):
    """The agent's audio reaches sbc-1 and goes no further. One critical finding names
    sbc-1; carrier-a's hop, which lacks that audio only because sbc-1 dropped it, is no
    second one-way call."""
    media = _relay_forwards_nothing_to_the_carrier(sc, tmp_path, "relay-drop@voxops", agent_sends=True)
    assert [(f.code, f.evidence["node"]) for f in media] == [("relay-drops-media", "sbc-1")]


def test_a_silent_agent_behind_a_relay_is_named_once_on_its_own_hop(sc, tmp_path):
    """agent-1 sends nothing, so sbc-1 has nothing to forward to carrier-a: one one-way
    finding, on the agent's hop, naming agent-1; the relay did its job."""
    media = _relay_forwards_nothing_to_the_carrier(sc, tmp_path, "silent-agent@voxops", agent_sends=False)
    assert [(f.code, f.evidence["node"]) for f in media] == [("one-way-audio", "agent-1")]
    assert media[0].evidence["streams"] == ["127.0.9.1:20000 -> 127.0.9.21:40000"]
    assert media[0].message.endswith("agent-1 sends no audio")


def _in_dialog(sc: ModuleType, call, t: float, method: str, src, dst, body: str) -> None:
    """A request inside the dialog (the To tag of the 200 OK): re-INVITE or UPDATE."""
    call.request(t, method, src, dst, body, cseq=2)
    to = f"To: <sip:+15550199@{sc.SBC[0]}>".encode()
    call.packets[-1].payload = call.packets[-1].payload.replace(to, to + f";tag=b{call.call_id[:4]}".encode(), 1)


def _switched(sc: ModuleType, call, method: str | None) -> None:
    """carrier-a -> sbc-1 -> agent-1 in PCMU; at 1 s the agent moves the call to PCMA with a
    re-INVITE or UPDATE (`method`; None: without telling anyone). RTP both ways changes
    payload type at 1.2 s within one stream."""
    both = sc.sdp(sc.CARRIER_MEDIA, [0, 8])
    call.request(0.0, "INVITE", sc.CARRIER_A, sc.SBC, both)
    call.request(0.02, "INVITE", sc.SBC, sc.AGENT, both)
    call.response(0.3, 200, "OK", sc.AGENT, sc.SBC, body=sc.sdp(sc.AGENT_MEDIA, [0]))
    call.response(0.31, 200, "OK", sc.SBC, sc.CARRIER_A, body=sc.sdp(sc.AGENT_MEDIA, [0]))
    call.request(0.35, "ACK", sc.CARRIER_A, sc.SBC)
    call.request(0.36, "ACK", sc.SBC, sc.AGENT)
    if method is not None:
        _in_dialog(sc, call, 1.0, method, sc.AGENT, sc.SBC, sc.sdp(sc.AGENT_MEDIA, [8]))
        _in_dialog(sc, call, 1.01, method, sc.SBC, sc.CARRIER_A, sc.sdp(sc.AGENT_MEDIA, [8]))
        call.response(1.1, 200, "OK", sc.CARRIER_A, sc.SBC, method=method, body=sc.sdp(sc.CARRIER_MEDIA, [8]), cseq=2)
        call.response(1.11, 200, "OK", sc.SBC, sc.AGENT, method=method, body=sc.sdp(sc.CARRIER_MEDIA, [8]), cseq=2)
        if method == "INVITE":
            call.request(1.15, "ACK", sc.AGENT, sc.SBC, cseq=2)
            call.request(1.16, "ACK", sc.SBC, sc.CARRIER_A, cseq=2)
    for src, dst, ssrc in ((sc.CARRIER_MEDIA, sc.AGENT_MEDIA, 11), (sc.AGENT_MEDIA, sc.CARRIER_MEDIA, 22)):
        for n in range(100):
            pt = 0 if n < 40 else 8
            header = struct.pack("!BBHII", 0x80, pt, n, n * 160, ssrc)
            call.packets.append(sc.Datagram(0.4 + 0.02 * n, src, dst, header + bytes([0x55 + pt]) * 160))
    call.request(2.5, "BYE", sc.CARRIER_A, sc.SBC, cseq=3)
    call.request(2.51, "BYE", sc.SBC, sc.AGENT, cseq=3)
    call.packets.sort(key=lambda p: p.time)


@pytest.mark.parametrize("method", ["INVITE", "UPDATE"])
def test_a_payload_type_switch_announced_later_is_no_codec_problem(sc, tmp_path, method):
    call = sc.Call(f"switch-{method.lower()}@voxops", caller=sc.CARRIER_A)
    _switched(sc, call, method)
    result = diagnose(write(sc, call, tmp_path), call.call_id)
    codes = {f.code for f in result.findings}
    assert not codes & {"transcoding", "codec-asymmetry"}, result.findings


def test_a_payload_type_switch_nobody_announced_is_still_transcoding(sc, tmp_path):
    call = sc.Call("switch-silent@voxops", caller=sc.CARRIER_A)
    _switched(sc, call, None)
    result = diagnose(write(sc, call, tmp_path), call.call_id)
    assert "transcoding" in {f.code for f in result.findings}


def _relayed_call(sc: ModuleType, call_id: str, *, in_pt: int = 0, carrier_drop=None, relay_drop=None):
    """carrier-a -> sbc-1 (anchoring media, forwarding payload and sequence numbers as they
    come) -> agent-1, all in PCMU by SDP; the carrier sends `in_pt`, loses `carrier_drop`
    packets on its leg, the relay's leg toward the agent loses `relay_drop` more."""
    sbc_out, sbc_in = ("127.0.9.1", 20000), ("127.0.9.1", 20002)
    call = sc.Call(call_id, caller=sc.CARRIER_A)
    call.request(0.0, "INVITE", sc.CARRIER_A, sc.SBC, sc.sdp(sc.CARRIER_MEDIA, [0]))
    call.request(0.02, "INVITE", sc.SBC, sc.AGENT, sc.sdp(sbc_out, [0]))
    call.response(0.3, 200, "OK", sc.AGENT, sc.SBC, body=sc.sdp(sc.AGENT_MEDIA, [0]))
    call.response(0.31, 200, "OK", sc.SBC, sc.CARRIER_A, body=sc.sdp(sbc_in, [0]))
    call.request(0.35, "ACK", sc.CARRIER_A, sc.SBC)
    call.request(0.36, "ACK", sc.SBC, sc.AGENT)
    for n in range(200):
        if carrier_drop and carrier_drop(n):
            continue
        header = struct.pack("!BBHII", 0x80, in_pt, n, n * 160, 0x1234)
        call.packets.append(sc.Datagram(0.4 + 0.02 * n, sc.CARRIER_MEDIA, sbc_in, header + bytes(160)))
        if not (relay_drop and relay_drop(n)):
            call.packets.append(sc.Datagram(0.401 + 0.02 * n, sbc_out, sc.AGENT_MEDIA, header + bytes(160)))
    call.rtp(0.41, sc.AGENT_MEDIA, sbc_out, 0, 4.0)
    call.rtp(0.411, sbc_in, sc.CARRIER_MEDIA, 0, 4.0)
    call.request(4.6, "BYE", sc.CARRIER_A, sc.SBC, cseq=2)
    call.request(4.61, "BYE", sc.SBC, sc.AGENT, cseq=2)
    call.packets.sort(key=lambda p: p.time)
    return call


def _codes(sc, call, tmp_path, codes: set[str]) -> list:
    return [f for f in diagnose(write(sc, call, tmp_path), call.call_id).findings if f.code in codes]


def test_loss_is_located_at_the_upstream_most_leg_where_it_appears(sc, tmp_path):
    every_tenth = lambda n: n % 10 == 3  # noqa: E731
    upstream = _codes(sc, _relayed_call(sc, "loss-up@voxops", carrier_drop=every_tenth), tmp_path, {"packet-loss"})
    assert [f.evidence["hop"] for f in upstream] == ["carrier-a -> sbc-1"]
    downstream = _codes(sc, _relayed_call(sc, "loss-down@voxops", relay_drop=every_tenth), tmp_path, {"packet-loss"})
    assert [f.evidence["hop"] for f in downstream] == ["sbc-1 -> agent-1"]
    more = _codes(sc, _relayed_call(sc, "loss-both@voxops", carrier_drop=every_tenth,
                                    relay_drop=lambda n: n % 10 == 7), tmp_path, {"packet-loss"})
    assert [f.evidence["hop"] for f in more] == ["carrier-a -> sbc-1", "sbc-1 -> agent-1"]


def test_a_wrong_codec_a_relay_forwards_is_the_sources_transcoding(sc, tmp_path):
    found = _codes(sc, _relayed_call(sc, "g729-in@voxops", in_pt=18), tmp_path, {"transcoding"})
    assert [f.evidence["stream"] for f in found] == ["127.0.9.11:30000 -> 127.0.9.1:20002"]
