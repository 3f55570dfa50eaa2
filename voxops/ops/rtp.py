"""`voxops rtp`: every RTP stream of a capture with its statistics."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from voxops.analysis.streams import RtpStream


class RtpReport(BaseModel):
    streams: list[RtpStream]


def rtp_streams(pcap: Path, *, heuristic: bool, tls_keylog: Path | None, warn: Callable[[str], None]) -> RtpReport:
    from voxops.analysis.loader import analyse_capture

    analysis = analyse_capture(pcap, heuristic=heuristic, warn=warn, compact=True, tls_keylog=tls_keylog)
    return RtpReport(streams=analysis.streams)
