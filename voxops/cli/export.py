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
        from voxops.ops.export import export_call
        from voxops.output_file import is_stdout
        from voxops.text.safe_text import visible

        report = export_call(pcap, call_id, output, correlate=correlate, warn=warn)
        where = "standard output" if is_stdout(output) else report.output
        typer.echo(visible(f"{where}: {report.frames} frames of {', '.join(report.call_ids)}"), err=True)
        return ExitCode.OK
