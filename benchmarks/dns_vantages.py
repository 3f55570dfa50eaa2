"""Multi-vantage DNS check: `voxops dns` (all queries at once) against kdig, one query at a time.

Vantages: N dnsmasq instances on 127.0.7.x plus one resolver that never answers. Each
query has the same 1 s timeout and no retry in both tools. The peer (kdig from Knot) is
what an engineer would script by hand: for each record, for each vantage, ask.

    python benchmarks/dns_vantages.py [--vantages 4] [--records 6] [--timeout 1]
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.probe_peers import addr, blackhole, dnsmasq  # noqa: E402
from voxops.probes.dns_check import check_dns  # noqa: E402
from voxops.proc import which  # noqa: E402
from voxops.spec.loader import load_topology_text  # noqa: E402


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def spec_text(vantages: list[tuple[str, str, int]], records: int, timeout: float) -> str:
    vs = ", ".join(f"{{name: {n}, address: {a}, port: {p}}}" for n, a, p in vantages)
    rs = ", ".join(f"{{name: host-{i}.probe.test, type: A, expect: [{addr(100 + i)}]}}" for i in range(records))
    return f"""
version: 1
name: bench
carriers: [{{name: c, trunks: [{{name: t, hosts: [{{address: {addr(250)}}}]}}]}}]
sbc: {{domain: sbc.probe.test, nodes: [{{name: sbc-1, address: {addr(251)}}}]}}
agents: {{instances: [{{name: a, host: {addr(252)}}}]}}
dns: {{timeout_s: {timeout}, vantages: [{vs}], records: [{rs}]}}
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vantages", type=int, default=4)
    ap.add_argument("--records", type=int, default=6)
    ap.add_argument("--timeout", type=float, default=1.0)
    args = ap.parse_args()
    kdig = which("kdig")
    flags = [f"--host-record=host-{i}.probe.test,{addr(100 + i)}" for i in range(args.records)]
    with contextlib.ExitStack() as stack:
        vantages = []
        for v in range(args.vantages):
            host = addr(200 + v)
            port = free_port(host)
            stack.enter_context(dnsmasq(host, port, *flags))
            vantages.append((f"v{v}", host, port))
        dead_port, _ = stack.enter_context(blackhole(addr(199)))
        vantages.append(("dead", addr(199), dead_port))
        topology = load_topology_text(spec_text(vantages, args.records, args.timeout))

        started = time.perf_counter()
        report = check_dns(topology, "bench")
        ours = time.perf_counter() - started

        answered = 0
        started = time.perf_counter()
        for i in range(args.records):
            for _, host, port in vantages:
                cp = subprocess.run([kdig, f"@{host}", "-p", str(port), f"host-{i}.probe.test", "A",
                                f"+timeout={max(1, int(args.timeout))}", "+retry=0", "+short"],
                                    capture_output=True, timeout=30)
                answered += host != addr(199) and cp.returncode == 0 and bool(cp.stdout.strip())
        peer = time.perf_counter() - started

    queries = args.records * len(vantages)
    print(f"{queries} queries ({args.records} records x {len(vantages)} vantages, one never answers), "
          f"timeout {args.timeout:g} s")
    print(f"voxops dns (concurrent):  {ours:6.2f} s  findings: {len(report.findings)}")
    print(f"kdig one by one (peer):    {peer:6.2f} s  answers from live vantages: {answered}")
    print(f"ratio peer / voxops:       {peer / ours:6.1f}x")


if __name__ == "__main__":
    main()
