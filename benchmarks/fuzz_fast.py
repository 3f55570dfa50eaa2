"""A million inputs per fuzz target in minutes: the targets in-process, uninstrumented.

The atheris harnesses (fuzz_capture, fuzz_spec, fuzz_index, fuzz_views) are coverage
guided: every branch of voxops is traced, which costs most of each input's time. This
runner calls the same `target(data)` functions without the tracing, on inputs mutated
from a corpus (the harness's seeds, plus a corpus an atheris run grew, if given):
byte flips, interesting integers, inserts, deletes, duplicated and spliced blocks.

Each input runs under a guard: an input still running after SLOW_S seconds is stopped
(SIGALRM) and is a finding, so is one after which the peak RSS has grown past
RSS_LIMIT_MB, and so is any exception the target does not expect (the targets already
turn expected outcomes into a plain return). A finding is written to the findings
folder and replayed in a fresh interpreter (`--replay FILE`), which says whether it
reproduces on its own; fuzzing then goes on. The process's address space is capped at
AS_LIMIT_MB, so a runaway allocation is a MemoryError (a finding), not a dead machine.

    .venv/bin/python benchmarks/fuzz_fast.py capture --runs 1000000 [--corpus DIR]
        [--findings DIR] [--seed N] [--max-len 4096] [--max-seconds S]
    .venv/bin/python benchmarks/fuzz_fast.py capture --replay FILE
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import os
import random
import resource
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

HERE = Path(__file__).resolve().parent
TARGETS = ("capture", "spec", "index", "views")
SLOW_S = float(os.environ.get("VOXOPS_FUZZ_SLOW_S", "5"))
RSS_LIMIT_MB = int(os.environ.get("VOXOPS_FUZZ_RSS_MB", "500"))
AS_LIMIT_MB = int(os.environ.get("VOXOPS_FUZZ_AS_MB", "6000"))
INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]


class Hang(Exception):
    """The input ran past SLOW_S seconds."""


def load_target(name: str) -> Any:
    """The harness module with its atheris instrumentation turned into a no-op."""
    import atheris

    atheris.instrument_imports = lambda **_kw: contextlib.nullcontext()  # type: ignore[assignment]
    sys.path.insert(0, str(HERE))
    return importlib.import_module(f"fuzz_{name}")


def seed_corpus(module: Any, extra: Path | None) -> list[bytes]:
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"voxops-fuzz-fast-{module.__name__}-{os.getpid()}"
    module.seeds(folder)
    corpus = [p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()]
    if extra is not None:
        corpus += [p.read_bytes() for p in sorted(extra.iterdir()) if p.is_file()]
    return [c for c in corpus if c] or [b"\x00\x00"]


def mutate(rng: random.Random, data: bytes, corpus: list[bytes], max_len: int) -> bytes:
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 3, 5, 8))):
        op = rng.randrange(8)
        at = rng.randrange(len(out) + 1)
        if op == 0 and out:  # flip bits
            out[min(at, len(out) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1 and out:  # a random byte
            out[min(at, len(out) - 1)] = rng.randrange(256)
        elif op == 2:  # an interesting integer, 1, 2 or 4 bytes, either order
            size = rng.choice((1, 2, 4))
            value = rng.choice(INTERESTING) & ((1 << (8 * size)) - 1)
            out[at:at + size] = value.to_bytes(size, rng.choice(("little", "big")))
        elif op == 3:  # insert random bytes
            out[at:at] = rng.randbytes(rng.randrange(1, 16))
        elif op == 4 and out:  # delete a block
            del out[at:at + rng.randrange(1, 64)]
        elif op == 5 and out:  # duplicate a block
            end = min(len(out), at + rng.randrange(1, 256))
            out[at:at] = out[at:end]
        elif op == 6:  # splice another corpus entry in
            other = rng.choice(corpus)
            start = rng.randrange(len(other))
            out[at:] = other[start:start + rng.randrange(1, 1024)]
        elif op == 7:  # a text token the parsers look for
            out[at:at] = rng.choice((b"\r\n", b"\r", b"\n", b":", b";", b"=", b"<", b">", b"%", b"$", b"{{",
                                     b"\x1b[", b"\xe2\x80\xae", b"Content-Length: -1", b"\x00", b"9" * 40))
    return bytes(out[:max_len])


def _alarm(_sig: int, _frame: FrameType | None) -> None:
    raise Hang(f"input ran past {SLOW_S:g} s")


def guarded(target: Callable[[bytes], None], data: bytes, slow_s: float = SLOW_S,
            rss_limit_mb: float = RSS_LIMIT_MB) -> str | None:
    """None, or what went wrong: an exception, a hang or an RSS past the limit."""
    signal.setitimer(signal.ITIMER_REAL, slow_s)
    try:
        target(data)
    except Hang as exc:
        return f"Hang: {exc}"
    except (Exception, MemoryError, RecursionError):  # noqa: BLE001 - every one is a finding
        return "".join(traceback.format_exception_only(*sys.exc_info()[:2])).strip() + "\n" + \
            "".join(traceback.format_tb(sys.exc_info()[2])[-3:])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    rss_mb = peak_rss_mb()
    if rss_mb > rss_limit_mb:
        return f"peak RSS {rss_mb:.0f} MB (limit {rss_limit_mb} MB)"
    return None


def peak_rss_mb() -> float:
    """This process's own peak RSS. Not ru_maxrss: a process started by a big one (a test
    run) inherits its parent's high-water mark across fork and exec."""
    with open("/proc/self/status", "rb") as fh:
        for line in fh:
            if line.startswith(b"VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def replay(name: str, path: Path) -> bool:
    """Whether the input at `path` is a finding when run alone in a fresh interpreter."""
    try:
        proc = subprocess.run([sys.executable, __file__, name, "--replay", str(path)], capture_output=True,
                              text=True, timeout=SLOW_S * 4 + 240)
    except subprocess.TimeoutExpired:
        return True  # longer than the two runs' deadlines together: it hangs alone too
    return proc.returncode != 0


def inputs(rng: random.Random, corpus: list[bytes], max_len: int) -> Iterator[bytes]:
    yield from corpus
    while True:
        yield mutate(rng, rng.choice(corpus), corpus, max_len)


def run(name: str, runs: int, corpus_dir: Path | None, findings: Path, seed: int, max_len: int,
        max_seconds: float) -> int:
    module = load_target(name)
    corpus = seed_corpus(module, corpus_dir)
    rng = random.Random(seed)
    findings.mkdir(parents=True, exist_ok=True)
    seen: dict[str, int] = {}
    for data in corpus[:64]:  # warm-up: first imports, font caches, compiled kernels are not the input's time
        guarded(module.target, data, slow_s=120)
    started = last = time.monotonic()
    done = 0
    for data in inputs(rng, corpus, max_len):
        if done >= runs or (done % 256 == 0 and time.monotonic() - started > max_seconds):
            break
        problem = guarded(module.target, data)
        done += 1
        if problem is not None:
            key = problem.splitlines()[0][:120]
            seen[key] = seen.get(key, 0) + 1
            if seen[key] == 1:
                where = findings / f"{name}-{hashlib.sha1(data).hexdigest()[:16]}"
                where.write_bytes(data)
                alone = replay(name, where)
                print(f"#{done} FINDING ({'reproduces alone' if alone else 'not alone'}) {where}: {problem}",
                      flush=True)
            if problem.startswith("peak RSS"):
                break  # the peak cannot come down: later inputs would all be reported
        now = time.monotonic()
        if now - last >= 30:
            last = now
            print(f"#{done} {done / (now - started):.0f} inputs/s, {sum(seen.values())} finding(s)", flush=True)
    elapsed = time.monotonic() - started
    peak = peak_rss_mb()
    print(f"DONE {name}: {done} inputs in {elapsed:.0f} s ({done / max(elapsed, 1e-9):.0f} inputs/s), "
          f"{sum(seen.values())} finding(s) of {len(seen)} kind(s), peak RSS {peak:.0f} MB", flush=True)
    for key, count in seen.items():
        print(f"  {count} x {key}", flush=True)
    return 1 if seen else 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("target", choices=TARGETS)
    ap.add_argument("--runs", type=int, default=1_000_000)
    ap.add_argument("--corpus", type=Path, default=None, help="more inputs (an atheris corpus folder)")
    ap.add_argument("--findings", type=Path, default=Path("fuzz-findings"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-len", type=int, default=4096)
    ap.add_argument("--max-seconds", type=float, default=float("inf"), help="stop (with the summary) after this long")
    ap.add_argument("--replay", type=Path, default=None, help="run this one input and exit 1 on a finding")
    args = ap.parse_args()
    limit = AS_LIMIT_MB << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
    signal.signal(signal.SIGALRM, _alarm)
    if args.replay is not None:
        target, data = load_target(args.target).target, args.replay.read_bytes()
        problem = guarded(target, data, slow_s=120) or guarded(target, data)  # the second run is warm
        print(problem or "no finding")
        sys.exit(1 if problem else 0)
    sys.exit(run(args.target, args.runs, args.corpus, args.findings, args.seed, args.max_len, args.max_seconds))


if __name__ == "__main__":
    main()
