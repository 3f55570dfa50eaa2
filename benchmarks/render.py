"""Rendering the production example: voxops (Jinja2 in-process) against Ansible's template module.

Both write the same bytes from the same templates (tests/deploy/test_ansible_template.py);
this measures what each costs for the whole file set of one topology.

Usage: .venv/bin/python benchmarks/render.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from voxops.deploy.runner import ansible_render  # noqa: E402
from voxops.render.engine import plan, render_all, resolve_secrets  # noqa: E402
from voxops.spec.loader import load_topology  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    os.environ.setdefault("CARRIER_A_PASSWORD", "benchmark-pw")
    spec = REPO / "voxops" / "data" / "inventories" / "production"
    with tempfile.TemporaryDirectory(prefix="voxops-bench-") as tmp:
        t = Path(tmp)
        times = []
        for i in range(args.repeat):
            start = time.perf_counter()
            topo, _ = load_topology(spec)
            jobs = plan(topo, "/opt/voxops", resolve_secrets(topo, spec))
            render_all(jobs, t / f"voxops{i}")
            times.append(time.perf_counter() - start)
        voxops_s = statistics.median(times)
        start = time.perf_counter()
        rc = ansible_render(jobs, t / "ansible")
        ansible_s = time.perf_counter() - start
        same = all((t / "ansible" / j["dest"]).read_bytes() == (t / "voxops0" / j["dest"]).read_bytes()
                   for j in (j.model_dump() for j in jobs))
    print(f"files per topology:          {len(jobs)}")
    print(f"voxops render (median of {args.repeat}): {voxops_s * 1000:.1f} ms")
    print(f"ansible template module:     {ansible_s * 1000:.0f} ms (rc {rc})")
    print(f"ratio ansible / voxops:      {ansible_s / voxops_s:.0f}x")
    print(f"byte-identical:              {same}")
    return 0 if same and rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
