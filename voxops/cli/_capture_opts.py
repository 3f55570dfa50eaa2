"""Options shared by the capture commands (calls, ladder, export)."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from pathlib import Path

import typer

from voxops.capture.engines import Engine
from voxops.errors import InvalidInput

PCAP_ARG = typer.Argument(..., help="Capture file: pcap, pcapng, optionally gzip-compressed.")
ENGINE_OPTION = typer.Option(
    Engine.native, "--engine", help="native (fast) or tshark (Wireshark dissectors, TLS)."
)
KEYLOG_OPTION = typer.Option(
    None, "--tls-keylog", help="TLS key log (SSLKEYLOGFILE) to decrypt SIP over TLS; --engine tshark."
)
DECRYPT_KEYLOG_OPTION = typer.Option(
    None, "--tls-keylog", help="TLS key log (SSLKEYLOGFILE): SIP over TLS is read through tshark to decrypt it."
)
CORRELATE_OPTION = typer.Option(
    ["X-CID", "X-Call-ID"], "--correlate",
    help="Header naming the other leg's Call-ID (B2BUA); repeat for several.",
)


def parse_time(value: str | None, flag: str) -> float | None:
    """Epoch seconds or an ISO 8601 date-time (UTC when no zone is given)."""
    if value is None:
        return None
    bad = InvalidInput(f"{flag} {value!r}: expected epoch seconds or an ISO time like 2024-05-01T13:05:00")
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):  # "nan" and "inf" parse as floats but select nothing
            raise bad
        return seconds
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise bad from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def keylog_path(value: Path | None) -> Path | None:
    if value is not None and not value.is_file():
        raise InvalidInput(f"--tls-keylog {value}: no such file")
    return value


KEYLOG_LINE = re.compile(rb"^(CLIENT_RANDOM|CLIENT_HANDSHAKE_TRAFFIC_SECRET|SERVER_HANDSHAKE_TRAFFIC_SECRET|"
                         rb"CLIENT_TRAFFIC_SECRET_0|SERVER_TRAFFIC_SECRET_0|EXPORTER_SECRET|RSA) [0-9a-fA-F]+ ",
                         re.MULTILINE)


def key_log(value: Path | None) -> Path | None:
    """A TLS key log given to decrypt with: a file holding at least one NSS key log line
    (an empty or foreign file would decrypt nothing without a word)."""
    path = keylog_path(value)
    if path is None:
        return None
    try:
        with path.open("rb") as fh:
            head = fh.read(1 << 20)
    except OSError as exc:
        raise InvalidInput(f"--tls-keylog {path}: cannot read it ({exc.strerror})") from exc
    if not KEYLOG_LINE.search(head):
        raise InvalidInput(f"--tls-keylog {path}: not a TLS key log (no CLIENT_RANDOM or TLS 1.3 secret line)")
    return path

