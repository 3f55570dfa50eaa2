"""Validate a generated spec with 1,000 trunks and 200 agents.

Peer, measured in the same run: a generic YAML + JSON Schema check of the same file
(PyYAML's C loader + jsonschema against `voxops schema`), which finds schema errors only
(no positions, no cross-field rules, no lint).

    python benchmarks/validate.py [--trunks 1000] [--agents 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import jsonschema
import yaml

from voxops.ops.validate import validate_spec
from voxops.spec.models import Topology


def generate(trunks: int, agents: int) -> dict:
    carriers = []
    per_carrier = 10
    for c in range(trunks // per_carrier):
        carriers.append({
            "name": f"carrier-{c}",
            "trunks": [
                {
                    "name": f"trunk-{c}-{t}",
                    "hosts": [{"address": f"10.{c // 250}.{c % 250}.{t + 1}", "port": 5060, "transport": "udp"}],
                    "weight": 1 + (t * 7) % 100,
                    "codecs": ["PCMU", "PCMA"],
                    "options_ping": {"interval_s": 10, "failure_threshold": 3},
                    "limits": {"channels": 100, "cps": 5},
                }
                for t in range(per_carrier)
            ],
        })
    return {
        "version": 1,
        "name": "bench",
        "carriers": carriers,
        "sbc": {
            "domain": "sbc.bench.test",
            "srv_name": "_sip._udp.sbc.bench.test",
            "nodes": [{"name": f"sbc-{i}", "address": f"10.200.0.{i + 1}"} for i in range(2)],
            "admission": {"max_concurrent_calls": 1000},
        },
        "agents": {
            "instances": [
                {"name": f"agent-{i}", "host": f"10.201.{i // 250}.{i % 250 + 1}", "max_calls": 10}
                for i in range(agents)
            ]
        },
    }


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trunks", type=int, default=1000)
    ap.add_argument("--agents", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "topology.yaml"
        path.write_text(yaml.safe_dump(generate(args.trunks, args.agents), sort_keys=False))
        report = validate_spec(path)
        assert report.valid, report.errors[:3]
        schema = Topology.model_json_schema()
        validator = jsonschema.Draft202012Validator(schema)

        def peer() -> None:
            data = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
            errors = list(validator.iter_errors(data))
            assert not errors

        ours = best_of(args.repeat, lambda: validate_spec(path))
        theirs = best_of(args.repeat, peer)
        size_kb = path.stat().st_size / 1024
        print(json.dumps({
            "spec_kb": round(size_kb, 1),
            "trunks": args.trunks,
            "agents": args.agents,
            "voxops_validate_s": round(ours, 4),
            "yaml_plus_jsonschema_s": round(theirs, 4),
            "ratio_peer_over_voxops": round(theirs / ours, 2),
        }, indent=2))
        print(f"voxops validate: {ours * 1000:.0f} ms for {args.trunks} trunks / {args.agents} agents "
              f"({size_kb:.0f} KiB); YAML+JSON Schema peer: {theirs * 1000:.0f} ms; "
              f"voxops is {theirs / ours:.1f}x the peer's speed (best of {args.repeat})")


if __name__ == "__main__":
    main()
