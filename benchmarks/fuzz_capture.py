"""Coverage-guided fuzzing of the capture reader and the SIP/SDP parsers (atheris).

Each input picks a target with its first byte:
  0  parse_sip + every accessor and the SDP (the bytes as one SIP message)
  1  parse_sdp
  2  one frame through the complete decoder (link type from the second byte):
     link layers, IPv4/IPv6 and extension headers, fragments, TCP/WebSocket streams
  3  a whole capture file (pcap or pcapng, optionally gzip) through scan()
Expected outcomes are a result, None, or CaptureError for a file that is not a
capture; anything else (another exception, a crash in the compiled kernels) is a
finding, and so is an input that takes over SLOW_S seconds or grows the peak RSS past
RSS_LIMIT_MB (checked after each input, and by libFuzzer's -timeout/-rss_limit_mb for
an input that never returns). Seeds come from the project's own test captures.

    .venv/bin/python benchmarks/fuzz_capture.py --runs 1000000 [-max_len=4096] [corpus_dir]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import atheris
import numpy  # noqa: F401 - imported before instrumentation: only voxops code is instrumented
from fuzz_fast import peak_rss_mb  # benchmarks/ is on the path: the harnesses run as scripts

with atheris.instrument_imports(include=["voxops"]):
    from voxops.capture import layers
    from voxops.capture.scanner import _Scanner, scan
    from voxops.capture.sdp import parse_sdp
    from voxops.capture.sip import parse_sip
    from voxops.errors import CaptureError

LINKS = sorted(layers.SUPPORTED_LINKS)
SCRATCH = Path(tempfile.mkdtemp(prefix="voxops-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
FILE = SCRATCH / "input.pcap"
_scanner = _Scanner(media=True)
SLOW_S = float(os.environ.get("VOXOPS_FUZZ_SLOW_S", "5"))
RSS_LIMIT_MB = int(os.environ.get("VOXOPS_FUZZ_RSS_MB", "500"))


class Finding(Exception):
    """An input that is too slow or too hungry: reported like a crash."""


def exercise_sip(data: bytes) -> None:
    msg = parse_sip(data)
    if msg is None:
        return
    (msg.call_id, msg.cseq, msg.branch, msg.from_uri, msg.from_tag, msg.to_uri, msg.to_tag,
     msg.user_agent, msg.content_type, msg.summary, msg.headers_all("Via"), msg.header("x"))
    if msg.sdp is not None:
        msg.sdp.summary()


def target(data: bytes) -> None:
    started = time.monotonic()
    run_one(data)
    elapsed = time.monotonic() - started
    if elapsed > SLOW_S:
        raise Finding(f"input took {elapsed:.1f} s (limit {SLOW_S:g} s)")
    rss_mb = peak_rss_mb()
    if rss_mb > RSS_LIMIT_MB:
        raise Finding(f"peak RSS {rss_mb:.0f} MB (limit {RSS_LIMIT_MB} MB)")


def run_one(data: bytes) -> None:
    if len(data) < 2:
        return
    kind, rest = data[0] % 4, data[1:]
    if kind == 0:
        exercise_sip(rest)
    elif kind == 1:
        parse_sdp(rest).summary()
    elif kind == 2:
        global _scanner
        _scanner.frame(1, 0.0, LINKS[rest[0] % len(LINKS)], rest[1:])
        if len(_scanner.sip) > 1000:  # keep state bounded across inputs
            _scanner = _Scanner(media=True)
    else:
        FILE.write_bytes(rest)
        try:
            result = scan(FILE)
        except CaptureError:
            return
        for pkt in result.sip:
            exercise_sip(pkt.raw)


def seeds(corpus: Path) -> None:
    """Seed the corpus with real frames, messages and small captures from tests/data."""
    data = Path(__file__).resolve().parent.parent / "tests" / "data" / "capture"
    corpus.mkdir(parents=True, exist_ok=True)
    n = 0
    for path in sorted(data.glob("*.pcap*")):
        result = scan(path)
        raw = path.read_bytes()
        (corpus / f"file-{path.stem}").write_bytes(b"\x03" + raw[:4096])
        for pkt in result.sip[:6]:
            (corpus / f"sip-{n}").write_bytes(b"\x00" + pkt.raw)
            if pkt.msg.body:
                (corpus / f"sdp-{n}").write_bytes(b"\x01" + pkt.msg.body)
            n += 1


def fuzzer_args(argv: list[str]) -> list[str]:
    """libFuzzer arguments: `--runs N` as -runs=N, with the time and memory limits added."""
    args = [argv[0]]
    rest = iter(argv[1:])
    for arg in rest:
        if arg == "--runs":
            args.append(f"-runs={next(rest)}")
        elif arg.startswith("--runs="):
            args.append(f"-runs={arg.split('=', 1)[1]}")
        else:
            args.append(arg)
    if not any(a.startswith("-timeout=") for a in args):
        args.append(f"-timeout={int(SLOW_S) + 2}")
    if not any(a.startswith("-rss_limit_mb=") for a in args):
        args.append(f"-rss_limit_mb={RSS_LIMIT_MB}")
    return args


def main() -> None:
    args = fuzzer_args(sys.argv)
    dirs = [a for a in args[1:] if not a.startswith("-")]
    if not dirs:
        corpus = SCRATCH / "corpus"
        seeds(corpus)
        args.append(str(corpus))
    atheris.Setup(args, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
