"""Coverage-guided fuzzing of the ladder views over SIP text a peer controls (atheris).

Each input builds a ladder, from its first byte:
  even  the rest is one SIP message (parsed by parse_sip), drawn after a fixed INVITE
  odd   the rest feeds a FuzzedDataProvider: host names, labels, SDP summaries, codec
        names, Call-IDs and message text straight into the ladder model, strings the
        parser would never produce included
and renders it as text (with and without colour), Mermaid, HTML and, for one input in
32, SVG (matplotlib is slow). Each output is checked, not only run:
  text     no control, format or separator character but LF (and our SGR colours)
  Mermaid  one arrow statement per message and RTP stream, after CR/LF/';' splitting
  HTML     the JSON script ends where it should and parses; the viewer script follows
  SVG      parses as XML; no raw control character
Any exception or failed check is a finding.

    .venv/bin/python benchmarks/fuzz_views.py --runs 20000 [libFuzzer flags] [corpus_dir]
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import atheris
import matplotlib  # noqa: F401 - imported before instrumentation: only voxops code is instrumented
import numpy  # noqa: F401

with atheris.instrument_imports(include=["voxops"]):
    from voxops.analysis.dialogs import build_dialogs
    from voxops.analysis.ladder import Arrow, Ladder, Span, build_ladder
    from voxops.capture.records import SipPacket
    from voxops.capture.sip import parse_sip
    from voxops.views.ladder import LadderFormat, render_ladder
    from voxops.views.safe_text import UNSAFE

SCRATCH = Path(tempfile.mkdtemp(prefix="voxops-fuzz-views-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
INVITE = (b"INVITE sip:bob@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n"
          b"From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>\r\nCall-ID: fuzz@x\r\n"
          b"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
SGR = re.compile(r"\x1b\[\d+m")
ENTITY = re.compile(r"#\w+;")
MERMAID_ARROW = re.compile(r"\s*\w+\s*-{1,2}(>>|>|x|\))\s*\w+\s*:")
DATA_SCRIPT = re.compile(r'<script type="application/json" id="messages">(.*?)</script>\s*<script>\s*const messages', re.S)


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
    n_cols = fdp.ConsumeIntInRange(1, 3)
    columns = [fdp.ConsumeUnicode(24) for _ in range(n_cols)]
    ladder = Ladder(columns=columns, addresses=[f"10.0.0.{i}" for i in range(n_cols)],
                    call_ids=[fdp.ConsumeUnicode(40)])
    for i in range(fdp.ConsumeIntInRange(1, 4)):
        src, dst = fdp.ConsumeIntInRange(0, n_cols - 1), fdp.ConsumeIntInRange(0, n_cols - 1)
        ladder.arrows.append(Arrow(
            index=i, frame=i + 1, ts=1.0 + i * 0.1, delta_ms=100.0 * (i > 0), src=src, dst=dst,
            label=fdp.ConsumeUnicode(60), call_id=ladder.call_ids[0], leg=0, retransmission=fdp.ConsumeBool(),
            sdp=fdp.ConsumeUnicode(60) if fdp.ConsumeBool() else None, transport="udp",
            src_addr=fdp.ConsumeUnicode(20), dst_addr=fdp.ConsumeUnicode(20), text=fdp.ConsumeUnicode(200),
        ))
    if n_cols > 1 and fdp.ConsumeBool():
        ladder.spans.append(Span(src=0, dst=1, start=1.05, end=1.25, packets=10, payload_type=96,
                                 codec=fdp.ConsumeUnicode(30), ssrc=0x1234, src_addr="a", dst_addr="b"))
    return ladder


def raw_left(text: str, keep: str = "\n") -> list[str]:
    return [c for c in UNSAFE.findall(text) if c not in keep]


def check(ladder: Ladder, with_svg: bool) -> None:
    for colour in (False, True):
        text = render_ladder(ladder, LadderFormat.text, colour=colour)
        assert isinstance(text, str) and not raw_left(SGR.sub("", text)), text
    mermaid = render_ladder(ladder, LadderFormat.mermaid)
    assert isinstance(mermaid, str) and not raw_left(mermaid), mermaid
    statements = re.split(r"\r\n?|\n|;", ENTITY.sub("", mermaid))
    arrows = sum(1 for s in statements if MERMAID_ARROW.match(s))
    assert arrows == len(ladder.arrows) + len(ladder.spans), mermaid
    page = render_ladder(ladder, LadderFormat.html)
    assert isinstance(page, str) and not raw_left(page, keep="\n\t")
    found = DATA_SCRIPT.search(page)
    assert found is not None and not re.search(r"<!--|</?script|-->", found.group(1), re.I), page
    import json

    assert len(json.loads(found.group(1))) == len(ladder.arrows)
    if with_svg:
        svg = render_ladder(ladder, LadderFormat.svg)
        assert isinstance(svg, str) and not raw_left(svg, keep="\n")
        ET.fromstring(svg)


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
    check(ladder, with_svg)


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
