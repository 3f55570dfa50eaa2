"""`voxops audio PCAP --call-id ID`: the call's decoded audio per direction and its conversation."""

from __future__ import annotations

from pathlib import Path

import typer

from voxops.cli import _capture_opts as opts
from voxops.cli.common import FORMAT_OPTION, TextJson, emit_json, warn
from voxops.errors import ExitCode


def register(app: typer.Typer) -> None:
    @app.command("audio")
    def audio(
        pcap: Path = opts.PCAP_ARG,
        call_id: str = typer.Option(..., "--call-id", help="Call-ID (or a unique prefix) of the call."),
        output: Path = typer.Option(Path("."), "--output", "-o", help="Folder for the WAV files and the JSON summary."),
        stereo: bool = typer.Option(False, "--stereo", help="One stereo WAV: caller left, agent right."),
        spec: Path | None = typer.Option(None, "--spec", help="Topology spec: its SLOs set the thresholds."),
        correlate: list[str] = opts.CORRELATE_OPTION,
        fmt: TextJson = FORMAT_OPTION,
    ) -> int:
        """Decode the call's RTP to WAV (time-aligned to the call) and analyse the conversation."""
        from voxops.analysis.loader import policy_for
        from voxops.audio.conversation import thresholds_of
        from voxops.audio.files import write_call_audio
        from voxops.views.audio import audio_text

        limits = thresholds_of(policy_for(spec))
        report, code = write_call_audio(pcap, call_id, correlate, output, stereo=stereo, limits=limits, warn=warn)
        if fmt is TextJson.json:
            emit_json(report)
        else:
            typer.echo(audio_text(report))
        return code if code else ExitCode.OK
