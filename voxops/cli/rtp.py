"""`voxops rtp PCAP`: every RTP stream of a capture with Wireshark-exact statistics."""

from __future__ import annotations

from pathlib import Path

import typer

from voxops.cli import _capture_opts as opts
from voxops.cli import common
from voxops.cli.common import FORMAT_OPTION, TextJson, emit_json, warn
from voxops.errors import ExitCode

HEURISTIC_OPTION = typer.Option(
    False, "--rtp-heuristic", help="Also find RTP with no SDP in the capture (see docs: limits)."
)


def rtp(
    pcap: Path = typer.Argument(..., help="Capture file (pcap, pcapng, gzip)."),
    heuristic: bool = HEURISTIC_OPTION,
    tls_keylog: Path | None = opts.DECRYPT_KEYLOG_OPTION,
    fmt: TextJson = FORMAT_OPTION,
    width: int | None = common.WIDTH_OPTION,
    full: bool = common.FULL_OPTION,
    time: common.TimeMode = common.TIME_OPTION,
) -> int:
    """RTP streams: packets, loss, sequence errors, delta, jitter, MOS and the call of each."""
    from voxops.ops.rtp import rtp_streams
    from voxops.views.calls import streams_text

    streams = rtp_streams(pcap, heuristic=heuristic, tls_keylog=opts.key_log(tls_keylog), warn=warn).streams
    if fmt is TextJson.json:
        emit_json([s.model_dump(mode="json") for s in streams])
    else:
        from voxops.text.fit import terminal_width

        print(streams_text(streams, width=terminal_width(width), full=full, time=time))
    return ExitCode.OK


def register(app: typer.Typer) -> None:
    app.command()(rtp)
