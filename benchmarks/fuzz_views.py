"""Coverage-guided fuzzing of the ladder views over SIP text a peer controls (atheris).

Each input builds a ladder, from its first byte:
  even  the rest is one SIP message (parsed by parse_sip), drawn after a fixed INVITE
  odd   the rest feeds a FuzzedDataProvider: host names, labels, SDP summaries, codec
        names, Call-IDs and message text straight into the ladder model, strings the
        parser would never produce included
and renders it as text (with and without colour), Mermaid, HTML and, for one input in
32, SVG (matplotlib is slow). Each output is checked, not only run, by
tests/views/ladder_checks.py (the checks the tests use). Any exception or failed check
is a finding.

    .venv/bin/python benchmarks/fuzz_views.py --runs 20000 [libFuzzer flags] [corpus_dir]
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from pathlib import Path

import atheris
import matplotlib  # noqa: F401 - imported before instrumentation: only voxops code is instrumented
import numpy  # noqa: F401

with atheris.instrument_imports(include=["voxops"]):
    from voxops.analysis.dialogs import build_dialogs
    from voxops.analysis.ladder import Ladder, build_ladder
    from voxops.capture.records import SipPacket
    from voxops.capture.sip import parse_sip
    from voxops.text import safe_text  # noqa: F401
    from voxops.views import ladder_html, ladder_mermaid, ladder_plot, ladder_text  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.support.ladder_checks import check_views, ladder_of  # noqa: E402 - the oracle shared with the tests

SCRATCH = Path(tempfile.mkdtemp(prefix="voxops-fuzz-views-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
INVITE = (b"INVITE sip:bob@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n"
          b"From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>\r\nCall-ID: fuzz@x\r\n"
          b"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")


def packet(frame: int, ts: float, forward: bool, raw: bytes) -> SipPacket | None:
    msg = parse_sip(raw)
    if msg is None:
        return None
    src, dst = ("10.0.0.1", "10.0.0.2") if forward else ("10.0.0.2", "10.0.0.1")
    return SipPacket(frame, ts, src, 5060, dst, 5060, "udp", raw, msg)


def ladder_from_message(raw: bytes) -> Ladder | None:
    first = packet(1, 1.0, True, INVITE)
    fuzzed = packet(2, 1.1, False, raw)
    if first is None or fuzzed is None:
        return None
    dialogs = build_dialogs([first, fuzzed])
    return build_ladder(dialogs) if dialogs else None


def ladder_from_strings(fdp: atheris.FuzzedDataProvider) -> Ladder:
    columns = [fdp.ConsumeUnicode(24) for _ in range(fdp.ConsumeIntInRange(1, 3))]
    call_id = fdp.ConsumeUnicode(40)
    arrows = [(fdp.ConsumeIntInRange(0, 2), fdp.ConsumeIntInRange(0, 2), fdp.ConsumeUnicode(60),
               fdp.ConsumeUnicode(60) if fdp.ConsumeBool() else None, fdp.ConsumeUnicode(200))
              for _ in range(fdp.ConsumeIntInRange(1, 4))]
    return ladder_of(columns, call_id, arrows, fdp.ConsumeUnicode(30) if fdp.ConsumeBool() else None)


def target(data: bytes) -> None:
    if len(data) < 2:
        return
    with_svg = data[0] % 32 == 31  # one input in 32: a matplotlib figure costs 0.1 s
    if data[0] % 2 == 0:
        ladder = ladder_from_message(data[1:])
        if ladder is None:
            return
    else:
        ladder = ladder_from_strings(atheris.FuzzedDataProvider(data[1:]))
    check_views(ladder, with_svg=with_svg)


def seeds(corpus: Path) -> None:
    """SIP messages with the escapes, markup and separators the views must keep inert."""
    corpus.mkdir(parents=True, exist_ok=True)
    reasons = ["OK", "Ringing $x^2$", "Busy\rH0-)H1: x; H1-xH0: y", "T\x1b]0;t\x07\x9b2J\u202e",
               "<!--<script>", "</script>", "]]> #35; %%{init}%%", "\u2028\u2029\x00"]
    for n, reason in enumerate(reasons):
        raw = (f"SIP/2.0 200 {reason}\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n"
               "From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>;tag=b1\r\n"
               f"Call-ID: fuzz@x\r\nCSeq: 1 INVITE\r\nX-H: {reason}\r\nContent-Type: application/sdp\r\n\r\n"
               f"v=0\r\nc=IN IP4 10.0.0.2{reason}\r\nm=audio 4000 RTP/AVP 96\r\na=rtpmap:96 {reason}/8000\r\n")
        (corpus / f"sip-{n}").write_bytes(bytes([2 * n]) + raw.encode())
        (corpus / f"strings-{n}").write_bytes(bytes([2 * n + 1]) + (reason * 8).encode())
    (corpus / "svg").write_bytes(b"\x1f" + "".join(reasons).encode())


def main() -> None:
    args = [sys.argv[0]]
    rest = sys.argv[1:]
    while rest:
        arg = rest.pop(0)
        if arg == "--runs" and rest:
            args.append(f"-runs={rest.pop(0)}")
        elif arg.startswith("--runs="):
            args.append(f"-runs={arg.split('=', 1)[1]}")
        else:
            args.append(arg)
    if not [a for a in args[1:] if not a.startswith("-")]:
        corpus = SCRATCH / "corpus"
        seeds(corpus)
        args.append(str(corpus))
    warnings.simplefilter("ignore", UserWarning)  # glyphs missing from the font are not findings
    atheris.Setup(args, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
