"""Options and helpers shared by command modules."""

from __future__ import annotations

import typer

from voxops.views.output import TextJson, emit_json, warn

__all__ = ["FORMAT_OPTION", "TextJson", "emit_json", "warn"]

FORMAT_OPTION = typer.Option(TextJson.text, "--format", "-f", help="Output format.")
