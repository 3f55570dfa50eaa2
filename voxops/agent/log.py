"""The agent's stderr log, with the wire's text made inert.

Call-IDs, URIs, reason phrases and pjsua's own dumps of the SIP messages it sends and
receives come from peers: printed raw, an ESC sequence rewrites the operator's
terminal, a CR or a newline forges a log line, a bidi control reorders one. Every line
the agent logs goes through `views.safe_text.visible`; pjsua's multi-line entries and
tracebacks keep their line breaks, each line made visible on its own.
"""

from __future__ import annotations

import sys
import traceback

from voxops.views.safe_text import visible

PREFIX = "voxops agent: "


def log(message: str, *, flush: bool = False) -> None:
    """One line `voxops agent: <message>`, wire text in it shown as visible escapes."""
    print(PREFIX + visible(message), file=sys.stderr, flush=flush)


def log_lines(text: str) -> None:
    """Text of several lines (a pjsua log entry, a traceback): each line made visible.
    CRLF and LF end lines; a lone CR does not (it stays visible, as `\\r`)."""
    lines = text.replace("\r\n", "\n").removesuffix("\n").split("\n")
    sys.stderr.write("".join(visible(line) + "\n" for line in lines))


def log_exception(context: str) -> None:
    """The exception being handled, after a line naming where it happened."""
    log(context)
    log_lines(traceback.format_exc())
