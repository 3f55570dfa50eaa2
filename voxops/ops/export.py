"""`voxops export`: one call (all legs, SIP and its RTP/RTCP) cut into its own pcap."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel


class ExportReport(BaseModel):
    output: str  # "-" for standard output
    frames: int
    call_ids: list[str]


def export_call(pcap: Path, call_ids: Sequence[str], output: Path, *, correlate: Sequence[str],
                warn: Callable[[str], None]) -> ExportReport:
    from voxops.analysis.ladder import call_frames
    from voxops.capture.cutter import copy_frames
    from voxops.capture.engines import Engine
    from voxops.output_file import check_not_input
    from voxops.views.ladder import load_call

    check_not_input(output, pcap)
    dialogs, udp = load_call(pcap, call_ids, correlate, engine=Engine.native, tls_keylog=None, warn=warn)
    written = copy_frames(pcap, call_frames(dialogs, udp), output)
    return ExportReport(output=str(output), frames=written, call_ids=[d.call_id for d in dialogs])
