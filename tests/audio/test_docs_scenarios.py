"""The calls the conversation findings' docs pages are drawn from: each is diagnosed with
its own finding, so the picture on the page shows what the page is about."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.analysis.sbc_synthetic import scenarios
from voxops.analysis.diagnosis import diagnose_call
from voxops.analysis.loader import load_call, policy_for
from voxops.audio.diagnosis import with_audio_findings

SC = scenarios()


@pytest.mark.parametrize("runbook_id", sorted(SC.AUDIO_SCENARIOS))
def test_each_audio_scenario_shows_its_finding(runbook_id: str, tmp_path: Path) -> None:
    pcap = SC.build(runbook_id, tmp_path)
    call_id = SC.call_id(runbook_id)
    policy = policy_for(None)
    dialogs, streams = load_call(pcap, call_id, use_index=False)
    result = with_audio_findings(diagnose_call(dialogs, streams, call_id, policy), pcap, policy)
    codes = {f.code for f in result.findings}
    assert runbook_id in codes, result.findings
    conversation = {"silent-media", "dead-air", "slow-agent-response", "no-greeting", "talk-over"}
    expected_with = {"silent-media": {"no-greeting"}}  # an agent sending silence also never greets
    assert codes & conversation == {runbook_id} | expected_with.get(runbook_id, set()), result.findings


def test_the_audio_pictures_are_drawn_with_energy_lanes(tmp_path: Path, cli) -> None:
    pcap = SC.build("dead-air", tmp_path)
    code, _, err = cli("ladder", pcap, "--call-id", SC.call_id("dead-air"), "--audio", "-f", "svg",
                       "-o", tmp_path / "d.svg")
    assert code == 0, err
    assert (tmp_path / "d.svg").read_text().count('id="energy') == 2


def test_a_proxied_calls_sides_are_told_by_the_sdp_they_carry_not_the_relaying_address(tmp_path: Path) -> None:
    """carrier-a -> sbc-1 -> agent-1 with one Call-ID: the SBC forwards the caller's offer,
    which is still the caller's. Each side keeps its own talk spurts (nothing mixed)."""
    from voxops.audio.call import decode_call
    from voxops.audio.conversation import Thresholds

    pcap = SC.build("dead-air", tmp_path)
    call = decode_call(pcap, SC.call_id("dead-air"), (), limits=Thresholds(), warn=lambda _m: None)
    caller = [(round(s.start, 1), round(s.end, 1)) for s in call.sides["caller"].voice.spurts]
    agent = [(round(s.start, 1), round(s.end, 1)) for s in call.sides["agent"].voice.spurts]
    assert len(caller) == 2 and len(agent) == 2 and not set(caller) & set(agent)
    assert call.sides["caller"].address == "127.0.9.11:30000" and call.sides["agent"].address == "127.0.9.21:40000"
