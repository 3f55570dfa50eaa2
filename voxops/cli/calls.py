"""`voxops calls PCAP`: one row per dialog found in a capture."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from voxops.cli import _capture_opts as opts
from voxops.cli.common import (
    FORMAT_OPTION,
    FULL_OPTION,
    TIME_OPTION,
    WIDTH_OPTION,
    TextJson,
    TimeMode,
    warn,
)
from voxops.errors import ExitCode, InvalidInput
from voxops.views.output import emit_json_rows


def register(app: typer.Typer) -> None:
    @app.command("calls")
    def calls(
        pcap: Path | None = typer.Argument(None, help="Capture file: pcap, pcapng, optionally gzip-compressed (or --db)."),
        all_methods: bool = typer.Option(False, "--all", help="Also REGISTER, OPTIONS, SUBSCRIBE, MESSAGE... dialogs."),
        number: list[str] = typer.Option([], "--number", "-n", help="Keep dialogs whose From/To contains this (repeatable)."),
        since: str = typer.Option(None, "--since", help="Keep dialogs active at or after (epoch or ISO time, UTC)."),
        until: str = typer.Option(None, "--until", help="Keep dialogs that started at or before."),
        status: list[str] = typer.Option([], "--status", "-s", help="486, 4xx, answered, failed or none (repeatable)."),
        call_id: list[str] = typer.Option([], "--call-id", help="Only Call-IDs starting with this (and their legs)."),
        spec: Path | None = typer.Option(None, "--spec", help="Topology spec: names the nodes of each hop and the trunk."),
        correlate: list[str] = opts.CORRELATE_OPTION,
        engine: opts.Engine = opts.ENGINE_OPTION,
        tls_keylog: Path = opts.KEYLOG_OPTION,
        fmt: TextJson = FORMAT_OPTION,
        width: int | None = WIDTH_OPTION,
        full: bool = FULL_OPTION,
        time: TimeMode = TIME_OPTION,
        db: str | None = typer.Option(None, "--db", help="Search the call records `voxops watch` kept (SQLite file or postgresql://...) instead of a capture."),
        trunk: str | None = typer.Option(None, "--trunk", help="With --db: calls on this trunk."),
        finding: str | None = typer.Option(None, "--finding", help="With --db: calls with this finding code."),
        limit: int = typer.Option(100, "--limit", min=1, max=100000, help="With --db: at most this many, newest first."),
    ) -> int:
        """List the dialogs in a capture: start, Call-ID, parties, status, duration, PDD."""
        if db is not None or pcap is None:
            from voxops.cli.records import search_records

            if pcap is not None:
                raise InvalidInput("give a capture or --db, not both")
            if status or all_methods or tls_keylog is not None:
                raise InvalidInput("--status, --all and --tls-keylog read a capture; with --db use --finding and --trunk")
            if db is None:
                raise InvalidInput("missing a capture file (or --db URL to search call records)")
            return search_records(db, number=number, since=opts.parse_time(since, "--since"),
                                  until=opts.parse_time(until, "--until"), trunk=trunk, finding=finding,
                                  call_id=call_id, limit=limit, fmt=fmt, width=width, full=full, time=time)
        from voxops.analysis.call_list import CallFilter, summary_rows
        from voxops.analysis.call_store import CallStore
        from voxops.analysis.dialog_summaries import DialogSummaries
        from voxops.analysis.loader import policy_for
        from voxops.capture.engines import load_capture

        policy = policy_for(spec)
        flt = CallFilter(all_methods, number, opts.parse_time(since, "--since"),
                         opts.parse_time(until, "--until"), status, call_id)
        # no message is held; an ended dialog is folded into the store, rows are streamed
        with CallStore(correlate) as store:
            summaries = DialogSummaries(correlate, keep_sdp=False, store=store)
            load_capture(pcap, engine=engine, tls_keylog=opts.keylog_path(tls_keylog),
                         media=False, warn=warn, sip_filter=summaries)
            summaries.finish()
            if fmt is TextJson.json:
                emit_json_rows(r.model_dump() for r in summary_rows(store.dialogs(), store.leg_dialogs, flt, policy))
            else:
                from voxops.text.fit import terminal_width
                from voxops.views.call_table import write_calls

                write_calls(lambda: summary_rows(store.dialogs(), store.leg_dialogs, flt, policy, hops=False),
                            sys.stdout.write, width=terminal_width(width), full=full, time=time)
        return ExitCode.OK
