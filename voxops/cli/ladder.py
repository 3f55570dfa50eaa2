"""`voxops ladder PCAP`: the SIP ladder of one call (both legs through a B2BUA)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from voxops.cli import _capture_opts as opts
from voxops.cli.common import FULL_OPTION, TIME_OPTION, WIDTH_OPTION, TimeMode, warn
from voxops.errors import ExitCode, InvalidInput
from voxops.views.ladder import LadderFormat


def register(app: typer.Typer) -> None:
    @app.command("ladder")
    def ladder(
        pcap: Path = opts.PCAP_ARG,
        call_id: list[str] = typer.Option([], "--call-id", help="Call-ID (or a unique prefix); repeatable. Correlated legs are added."),
        fmt: LadderFormat = typer.Option(LadderFormat.text, "--format", "-f", help="text, svg, png, html or mermaid."),
        output: Path = typer.Option(None, "--output", "-o", help="Write here instead of stdout (required for png; '-': stdout)."),
        spec: Path = typer.Option(None, "--spec", help="Topology spec: name hosts (carrier-a, sbc-1, agent-3) instead of IPs."),
        correlate: list[str] = opts.CORRELATE_OPTION,
        engine: opts.Engine = opts.ENGINE_OPTION,
        tls_keylog: Path = opts.KEYLOG_OPTION,
        width: int | None = WIDTH_OPTION,
        full: bool = FULL_OPTION,
        time: TimeMode = TIME_OPTION,
        audio: bool = typer.Option(False, "--audio", help="svg, png, html: an energy lane per direction with talk spurts and response gaps; html plays the audio."),
    ) -> int:
        """Draw the SIP ladder of a call, with SDP summaries and its RTP streams."""
        from voxops.analysis.ladder import build_ladder
        from voxops.output_file import check_not_input, write_atomic
        from voxops.views.ladder import (
            AUDIO_FORMATS,
            call_audio_track,
            host_names,
            load_call,
            render_ladder,
        )

        check_not_input(output, pcap, spec)
        if audio and fmt not in AUDIO_FORMATS:
            raise InvalidInput(f"--audio draws energy lanes in svg, png and html, not {fmt.value}")
        names = host_names(spec)
        dialogs, udp = load_call(pcap, call_id, correlate, engine=engine,
                                 tls_keylog=opts.keylog_path(tls_keylog), warn=warn)
        model = build_ladder(dialogs, udp=udp, names=names)
        track = call_audio_track(pcap, dialogs, udp, model, call_id, spec=spec, warn=warn) if audio else None
        colour = output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        from voxops.text.fit import terminal_width

        layout = {"width": terminal_width(width) if output is None else (width or 80), "full": full, "time": time}
        rendered = render_ladder(model, fmt, colour=colour, text=layout, audio=track)
        if output is not None:
            write_atomic(output, rendered)
        elif isinstance(rendered, bytes):
            raise InvalidInput("--format png writes binary data: give -o FILE.png")
        else:
            sys.stdout.write(rendered)
        return ExitCode.OK
