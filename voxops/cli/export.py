"""`voxops export PCAP --call-id ID -o OUT.pcap`: one call's SIP and RTP/RTCP in its own file."""

from __future__ import annotations

from pathlib import Path

import typer

from voxops.cli import _capture_opts as opts
from voxops.cli.common import warn
from voxops.errors import ExitCode


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export(
        pcap: Path = opts.PCAP_ARG,
        call_id: list[str] = typer.Option(..., "--call-id", help="Call-ID (or a unique prefix); repeatable. Correlated legs are added."),
        output: Path = typer.Option(..., "--output", "-o", help="The pcap file to write ('-': standard output)."),
        correlate: list[str] = opts.CORRELATE_OPTION,
    ) -> int:
        """Cut one call (all legs: SIP, every fragment and segment, its RTP and RTCP) into a pcap."""
        from voxops.analysis.ladder import call_frames
        from voxops.capture.cutter import copy_frames
        from voxops.capture.engines import Engine
        from voxops.output_file import check_not_input, is_stdout
        from voxops.text.safe_text import visible
        from voxops.views.ladder import load_call

        check_not_input(output, pcap)
        dialogs, udp = load_call(pcap, call_id, correlate, engine=Engine.native, tls_keylog=None, warn=warn)
        written = copy_frames(pcap, call_frames(dialogs, udp), output)
        ids = ", ".join(d.call_id for d in dialogs)
        where = "standard output" if is_stdout(output) else str(output)
        typer.echo(visible(f"{where}: {written} frames of {ids}"), err=True)
        return ExitCode.OK
