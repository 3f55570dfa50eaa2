"""`voxops diagnose CALL_ID --pcap PCAP`: name the cause of a bad call, with evidence."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from voxops.cli import _capture_opts as opts
from voxops.cli.common import FULL_OPTION, TIME_OPTION, WIDTH_OPTION, TimeMode, emit_json, warn
from voxops.errors import ExitCode
from voxops.severity import Severity, fails


class DiagnoseFormat(StrEnum):
    text = "text"
    json = "json"
    html = "html"


def diagnose(
    call_id: str = typer.Argument(..., help="Call-ID (or a unique prefix) of the call to diagnose."),
    pcap: Path = typer.Option(..., "--pcap", help="Capture holding the call."),
    spec: Path | None = typer.Option(None, "--spec", help="Topology spec: trunk names, codec policy, SLOs."),
    fmt: DiagnoseFormat = typer.Option(DiagnoseFormat.text, "--format", "-f", help="Output format."),
    fail_on: Severity = typer.Option(Severity.error, "--fail-on", help="Exit 1 on findings at or above this."),
    index: bool = typer.Option(True, "--index/--no-index", help="Use (and build) the capture's sidecar index."),
    width: int | None = WIDTH_OPTION,
    full: bool = FULL_OPTION,
    time: TimeMode = TIME_OPTION,
    audio: bool = typer.Option(True, "--audio/--no-audio", help="Decode the call's audio: dead air, silent media, response time."),
    tls_keylog: Path | None = opts.DECRYPT_KEYLOG_OPTION,
) -> int:
    """Setup, SDP offer/answer vs RTP seen, media health, and a verdict with runbooks."""
    from voxops.ops.diagnose import diagnose as diagnose_op
    from voxops.views.calls import diagnosis_html, diagnosis_text

    result = diagnose_op(pcap, call_id, spec=spec, use_index=index, audio=audio,
                         tls_keylog=opts.key_log(tls_keylog), warn=warn)
    if fmt is DiagnoseFormat.json:
        emit_json(result)
    elif fmt is DiagnoseFormat.html:
        print(diagnosis_html(result))
    else:
        from voxops.text.fit import terminal_width

        print(diagnosis_text(result, width=terminal_width(width), full=full, time=time))
    return ExitCode.FINDINGS if fails(result.findings, fail_on) else ExitCode.OK


def register(app: typer.Typer) -> None:
    app.command()(diagnose)
