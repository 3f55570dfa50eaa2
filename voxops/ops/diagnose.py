"""`voxops diagnose`: one call of a capture, its setup, media and audio, and a verdict."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from voxops.analysis.diagnosis import CallDiagnosis


def diagnose(pcap: Path, call_id: str, *, spec: Path | None, use_index: bool, audio: bool,
             tls_keylog: Path | None, warn: Callable[[str], None]) -> CallDiagnosis:
    from voxops.analysis.diagnosis import diagnose_call
    from voxops.analysis.loader import load_chosen_call, policy_for

    policy = policy_for(spec)
    dialogs, streams, chosen = load_chosen_call(pcap, call_id, use_index=use_index, warn=warn, tls_keylog=tls_keylog)
    result = diagnose_call(dialogs, streams, chosen, policy)
    if audio:
        from voxops.audio.diagnosis import with_audio_findings

        result = with_audio_findings(result, pcap, policy)
    return result
