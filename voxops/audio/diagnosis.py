"""The conversation findings `voxops diagnose` adds when a call's audio can be decoded."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from voxops.audio.conversation import thresholds_of
from voxops.errors import VoxopsError
from voxops.findings import worst

if TYPE_CHECKING:
    from voxops.analysis.diagnosis import CallDiagnosis
    from voxops.analysis.policy import Policy


def with_audio_findings(result: CallDiagnosis, pcap: Path, policy: Policy) -> CallDiagnosis:
    """`result` with the findings of the call's decoded audio; unchanged when there is none
    to decode (no RTP, codecs voxops cannot decode: the packet-level findings say the rest)."""
    from voxops.audio.call import SIDES, decode_call

    try:
        call = decode_call(pcap, result.call_id, (), limits=thresholds_of(policy), warn=lambda _m: None)
    except VoxopsError:
        return result
    if not any(seg.codecs for s in SIDES for seg in call.sides[s].audio.segments):
        return result
    findings = [*result.findings, *call.conversation.findings]
    top = worst(findings)
    verdict = "no problem found" if top is None else f"{top.value}: " + "; ".join(
        f.code for f in sorted(findings, key=lambda f: -f.severity.rank))
    return result.model_copy(update={"findings": findings, "verdict": verdict})
