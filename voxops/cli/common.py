"""Options and helpers shared by command modules."""

from __future__ import annotations

import typer

from voxops.views.fit import MAX_WIDTH, MIN_WIDTH
from voxops.views.output import TextJson, emit_json, warn
from voxops.views.times import TimeMode

__all__ = ["FORMAT_OPTION", "FULL_OPTION", "TIME_OPTION", "WIDTH_OPTION", "TextJson", "TimeMode",
           "emit_json", "warn"]

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
