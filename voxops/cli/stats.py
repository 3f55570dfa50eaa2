"""`voxops stats PCAP`: ASR, NER, ISA, ACD, PDD, codes per trunk, MOS, windows vs SLOs."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import typer

from voxops.cli.common import FULL_OPTION, WIDTH_OPTION, emit_json, warn
from voxops.cli.rtp import HEURISTIC_OPTION
from voxops.errors import ExitCode, InvalidInput
from voxops.severity import Severity, fails

_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}


class StatsFormat(StrEnum):
    text = "text"
    json = "json"
    png = "png"


def parse_window(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+)\s*([smh]?)\s*", text)
    if not m or int(m.group(1)) == 0:
        raise InvalidInput(f"--window {text!r}: expected a duration such as 300s, 5m or 1h")
    return int(m.group(1)) * _UNITS[m.group(2)]


def stats(
    pcap: Path = typer.Argument(..., help="Capture file (pcap, pcapng, gzip)."),
    spec: Path | None = typer.Option(None, "--spec", help="Topology spec: trunk names by address, SLOs."),
    window: str | None = typer.Option(None, "--window", help="Window length (e.g. 5m); default: the spec's ASR window."),
    fmt: StatsFormat = typer.Option(StatsFormat.text, "--format", "-f", help="Output format."),
    output: Path = typer.Option(Path("voxops-stats.png"), "--output", "-o", help="Where --format png writes ('-': standard output)."),
    ner_487: bool = typer.Option(False, "--ner-487", help="Count 487 (caller cancelled) as effective in NER."),
    heuristic: bool = HEURISTIC_OPTION,
    audio: bool = typer.Option(False, "--audio", help="Decode answered calls: response latency and dead air per trunk and agent."),
    fail_on: Severity = typer.Option(Severity.critical, "--fail-on", help="Exit 1 on findings at or above this."),
    width: int | None = WIDTH_OPTION,
    full: bool = FULL_OPTION,
) -> int:
    """Telephony KPIs of a capture per trunk and per window, with the windows that break the SLOs."""
    from voxops.analysis.loader import analyse_capture, policy_for
    from voxops.analysis.trunkstats import stats_of_calls
    from voxops.views.calls import stats_text

    overrides: dict[str, object] = {"ner_counts_487": ner_487}
    if window is not None:
        overrides["window_s"] = parse_window(window)
    if fmt is StatsFormat.png:
        from voxops.output_file import check_not_input

        check_not_input(output, pcap, spec)  # before the capture is read
    policy = policy_for(spec, **overrides)
    analysis = analyse_capture(pcap, heuristic=heuristic, keep_jitter=fmt is StatsFormat.png, warn=warn,
                               stored=True)
    assert analysis.calls is not None
    with analysis.calls as store:
        # the call list is held for the PNG and the audio only; JSON streams it from the store afterwards
        report = stats_of_calls(str(pcap), store.groups(), analysis.streams, policy,
                                keep_call_list=fmt is StatsFormat.png or audio)
        if audio:
            from voxops.audio.call_stats import audio_stats

            answered = [c.call_id for c in report.call_list if c.final_status is not None and 200 <= c.final_status < 300]
            report.audio = audio_stats(pcap, answered, policy, warn=warn)
        if fmt is StatsFormat.json and audio:
            emit_json(report)  # its call list is already held
        elif fmt is StatsFormat.json:
            from voxops.analysis.trunkstats import call_lines
            from voxops.views.output import emit_json_with_rows

            lines = (line for line, _, _ in call_lines(store.groups(), analysis.streams, policy))
            emit_json_with_rows(report, "call_list", lines)
        elif fmt is StatsFormat.png:
            from voxops.views.stats_png import worst_jitter_stream, write_stats_png

            write_stats_png(report, worst_jitter_stream(analysis.streams, analysis.jitter), output, policy)
        else:
            from voxops.text.fit import terminal_width

            print(stats_text(report, width=terminal_width(width), full=full))
    return ExitCode.FINDINGS if fails(report.findings, fail_on) else ExitCode.OK


def register(app: typer.Typer) -> None:
    app.command()(stats)
