"""Coverage-guided fuzzing of the spec loader, its validation and the renderer (atheris).

Each input picks a target with its first byte:
  0  the bytes as a spec file: YAML loading with positions, validation, lint
  1  a valid spec with one value replaced: the rest of the input picks a place in the
     spec and a new value for it (text, number, list, mapping, null), so validation
     and rendering are reached with almost-valid specs
A spec that validates may hold only printable ASCII in its strings, and it is rendered
(in memory): a rendered file may hold only printable ASCII, tabs and newlines. Expected outcomes are a result or voxops'
InvalidInput (exit 2: bad spec, refused value); anything else (another exception, a
hang, a rendered control character) is a finding. Seeds are the project's own specs.

    .venv/bin/python benchmarks/fuzz_spec.py --runs 1000000 [libFuzzer flags] [corpus_dir]
"""

from __future__ import annotations

import copy
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import atheris
import yaml

with atheris.instrument_imports(include=["voxops"]):
    from voxops.errors import InvalidInput
    from voxops.render.engine import environment, plan, render_job
    from voxops.spec.lint import lint
    from voxops.spec.loader import validate_located
    from voxops.spec.models import Topology
    from voxops.spec.yamlpos import load_text

REPO = Path(__file__).resolve().parent.parent
SPECS = [REPO / "inventories" / "local" / "topology.yaml", REPO / "inventories" / "production" / "topology.yaml",
         REPO / "templates" / "topology.example.yaml", REPO / "tests" / "data" / "diagnosis" / "topology.yaml"]
BASES: list[Any] = [yaml.safe_load(p.read_text()) for p in SPECS if p.exists()]
_RENDERED_BAD = re.compile(r"[^\x20-\x7e\t\n]")


def places(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in plain data (mapping keys and list indexes)."""
    out = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            out += places(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += places(value, (*path, i))
    return out


def fuzzed_value(fdp: atheris.FuzzedDataProvider) -> Any:
    kind = fdp.ConsumeIntInRange(0, 6)
    if kind == 0:
        return fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 300))
    if kind == 1:
        return fdp.ConsumeInt(fdp.ConsumeIntInRange(1, 64))
    if kind == 2:
        return fdp.ConsumeRegularFloat()
    if kind == 3:
        return [fdp.ConsumeUnicodeNoSurrogates(20) for _ in range(fdp.ConsumeIntInRange(0, 3))]
    if kind == 4:
        return {fdp.ConsumeUnicodeNoSurrogates(10): fdp.ConsumeUnicodeNoSurrogates(20)}
    if kind == 5:
        return None
    return fdp.ConsumeBool()


def mutated_spec(data: bytes) -> str:
    fdp = atheris.FuzzedDataProvider(data)
    spec = copy.deepcopy(BASES[fdp.ConsumeIntInRange(0, len(BASES) - 1)])
    for _ in range(fdp.ConsumeIntInRange(1, 3)):
        all_places = places(spec)[1:]
        where = all_places[fdp.ConsumeIntInRange(0, len(all_places) - 1)]
        node = spec
        for key in where[:-1]:
            node = node[key]
        node[where[-1]] = fuzzed_value(fdp)
    return yaml.dump(spec, Dumper=yaml.CSafeDumper, allow_unicode=fdp.ConsumeBool())


def check_strings(data: Any) -> None:
    """No validated string holds a control or non-ASCII character (a newline, a NUL, U+2028)."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str) and _RENDERED_BAD.search(value.replace("\t", "\x00")):
            raise AssertionError(f"validated value {value[:80]!r}")
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def render_in_memory(topo: Topology) -> None:
    secrets = {t.name: "pw-1" for _, t in topo.trunks() if t.credentials}
    env = environment()
    for job in plan(topo, "/opt/voxops", secrets or None):
        text = render_job(env, job)
        bad = _RENDERED_BAD.search(text)
        if bad:
            raise AssertionError(f"{job.dest}: rendered character {bad.group()!r}")


def target(data: bytes) -> None:
    if len(data) < 2:
        return
    if data[0] % 2 == 0:
        text = data[1:].decode("utf-8", errors="replace")
    else:
        text = mutated_spec(data[1:])
    try:
        topo = validate_located(load_text(text, "fuzz.yaml"))
        check_strings(topo.model_dump(mode="json"))
        lint(topo)
        render_in_memory(topo)
    except InvalidInput:
        return


# inputs that once got past the loader: a number too long for int(), a zone id carrying
# Kamailio config lines
REGRESSIONS = [
    b"version: 1\nname: x\nslo: {pdd_max_ms: 1" + b"0" * 5000 + b"}\n",
    b"version: 1\nname: x\ncarriers: [{name: c, trunks: [{name: t, hosts: [{address: 'fe80::1%x\")\n"
    b"loadmodule \"exec.so\"'}]}]}]\nsbc: {domain: d.test, nodes: [{name: n, address: 127.0.0.1}]}\n"
    b"agents: {instances: [{name: a, host: 127.0.0.2}]}\n",
]


def seeds(corpus: Path) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    for i, data in enumerate(REGRESSIONS):
        (corpus / f"regression-{i}").write_bytes(b"\x00" + data)
    for i, path in enumerate(SPECS):
        if path.exists():
            (corpus / f"spec-{i}").write_bytes(b"\x00" + path.read_bytes())
            (corpus / f"mutate-{i}").write_bytes(b"\x01" + bytes([i]) + path.read_bytes()[:64])


def libfuzzer_args(argv: list[str]) -> list[str]:
    """`--runs N` as libFuzzer's `-runs=N`; other arguments pass through."""
    out, i = [argv[0]], 1
    while i < len(argv):
        if argv[i] == "--runs" and i + 1 < len(argv):
            out.append(f"-runs={argv[i + 1]}")
            i += 2
            continue
        out.append(argv[i].replace("--runs=", "-runs=", 1))
        i += 1
    return out


def main() -> None:
    args = libfuzzer_args(sys.argv)
    dirs = [a for a in args[1:] if not a.startswith("-")]
    if not dirs:
        dirs = [str(Path(tempfile.mkdtemp(prefix="voxops-fuzz-spec-")) / "corpus")]
        args.append(dirs[0])
    corpus = Path(dirs[0])
    if not corpus.is_dir() or not any(corpus.iterdir()):
        seeds(corpus)
    atheris.Setup(args, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
