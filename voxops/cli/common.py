"""Options and helpers shared by command modules."""

from __future__ import annotations

import typer

from voxops.severity import Severity
from voxops.text.fit import MAX_WIDTH, MIN_WIDTH
from voxops.text.times import TimeMode
from voxops.views.output import TextJson, emit_json, warn

__all__ = ["FAIL_ON_OPTION", "FORMAT_OPTION", "FULL_OPTION", "NAGIOS_OPTION", "TIME_OPTION", "WIDTH_OPTION", "TextJson",
           "TimeMode", "emit_json", "warn"]

FORMAT_OPTION = typer.Option(TextJson.text, "--format", "-f", help="Output format.")
WIDTH_OPTION = typer.Option(
    None, "--width", min=MIN_WIDTH, max=MAX_WIDTH, metavar="N",
    help="Text columns (default: the terminal's width, 80 when piped).",
)
FULL_OPTION = typer.Option(
    False, "--full", help="Text: never shorten a label, Call-ID or address (lines may be wider).",
)
TIME_OPTION = typer.Option(
    TimeMode.rel, "--time",
    help="Text times: rel (t+ seconds since the first shown), abs (UTC clock) or delta (since the row before).",
)

# the live checks (probe, dns, certs, audit)
NAGIOS_OPTION = typer.Option(
    False, "--nagios", help="Nagios plugin output: OK/WARNING/CRITICAL/UNKNOWN with perfdata, exit 0/1/2/3."
)
FAIL_ON_OPTION = typer.Option(Severity.warning, "--fail-on", help="Exit 1 on findings at or above this severity.")
