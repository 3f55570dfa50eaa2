"""Coverage-guided fuzzing of the capture index reader (atheris).

Each input is the whole SQLite file found where the index of a fixed capture lives;
the reader then looks one call up through it, as `voxops diagnose` does. Expected
outcomes are the call, None (the index is not trusted: the caller rebuilds it), or
InvalidInput for a sound index without that call. Anything else (another exception,
a read longer than the index deadline, a crash in SQLite) is a finding. Seeds are real
indexes of the capture, plus tampered copies (a view, a trigger, wrong values).

The capture lives at a fixed path with a fixed modification time, so indexes saved in
a corpus folder stay valid for that capture from one run to the next.

    .venv/bin/python benchmarks/fuzz_index.py --runs 20000 [-max_len=65536] [corpus_dir]
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import atheris
import numpy  # noqa: F401 - imported before instrumentation: only voxops code is instrumented
import pydantic  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = Path("/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()) / f"voxops-fuzz-index-{os.getuid()}"
CAPTURE = SCRATCH / "capture.pcap"
os.environ["VOXOPS_INDEX_DIR"] = str(SCRATCH / "index")

with atheris.instrument_imports(include=["voxops"]):
    from voxops.analysis.loader import analyse_capture, build_index, call_from_index
    from voxops.capture import index
    from voxops.errors import InvalidInput

TAMPERED = {
    "view": "DROP TABLE calls; CREATE VIEW calls (call_id, start, grp, media) AS"
            " WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i, i, 'g', '[]' FROM n",
    "trigger": "CREATE TRIGGER t AFTER INSERT ON sip BEGIN DELETE FROM calls; END",
    "media": "UPDATE calls SET media = '[{\"ssrc\": 1}]'",
    "port": "UPDATE sip SET sport = 70000",
    "call": "UPDATE sip SET call_id = 'x' || call_id",
}


def prepare_capture() -> str:
    """The fixed capture (same path and mtime every run) and the Call-ID looked up."""
    SCRATCH.mkdir(mode=0o700, exist_ok=True)
    shutil.copy(ROOT / "tests" / "data" / "diagnosis" / "clean.pcap", CAPTURE)
    os.utime(CAPTURE, ns=(1_700_000_000_000_000_000,) * 2)
    return analyse_capture(CAPTURE).dialogs[0].call_id


CALL_ID = prepare_capture()
INDEX = index.index_path(CAPTURE)


def target(data: bytes) -> None:
    fd = os.open(INDEX, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    started = time.monotonic()
    with contextlib.suppress(InvalidInput):  # a sound index without that call
        call_from_index(CAPTURE, CALL_ID)
    elapsed = time.monotonic() - started
    if elapsed > index.DEADLINE_S + 2:
        raise RuntimeError(f"index read took {elapsed:.1f} s")


def seeds(corpus: Path) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    honest = build_index(CAPTURE, analyse_capture(CAPTURE))
    (corpus / "honest").write_bytes(honest.read_bytes())
    for name, sql in TAMPERED.items():
        copy = corpus / f"tampered-{name}"
        copy.write_bytes(honest.read_bytes())
        db = sqlite3.connect(copy)
        db.executescript(sql)
        db.commit()
        db.close()


def main() -> None:
    args = [sys.argv[0]]
    rest = iter(sys.argv[1:])
    for arg in rest:
        args.append(f"-runs={next(rest)}" if arg == "--runs" else arg)
    if not [a for a in args[1:] if not a.startswith("-")]:
        corpus = SCRATCH / "corpus"
        seeds(corpus)
        args.append(str(corpus))
    for default in ("-max_len=65536", f"-timeout={int(index.DEADLINE_S) + 10}", "-rss_limit_mb=1024"):
        if not any(a.startswith(default.split("=")[0] + "=") for a in args):
            args.insert(1, default)
    atheris.Setup(args, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
