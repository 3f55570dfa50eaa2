"""The media relay under load, on 127.0.23.x / 127.0.24.x: one SBC node's rendered
rtpengine (userspace forwarding) carrying `--calls` concurrent calls, each with G.711-sized
RTP both ways every 20 ms, opened and closed over ng like Kamailio does.

Measures: packets delivered each way, the one-way latency through the relay (median, p99)
against the same packets sent directly over loopback (the peer: what the relay adds), and
rtpengine's CPU per call (CPU seconds per call-second, from /proc). Kamailio is not in this
path: its share is the signalling of each call, not per packet.

Usage: .venv/bin/python benchmarks/relay.py [--calls 50] [--duration 20]
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psutil  # noqa: E402
import yaml  # noqa: E402

from tests.conftest import free_port  # noqa: E402
from tests.support.media_peers import start_rtpengine, wait_ng  # noqa: E402
from voxops.probes.relay_call import close_relay_call, open_relay_call  # noqa: E402
from voxops.render.engine import plan, render_all  # noqa: E402
from voxops.spec.loader import load_topology_text  # noqa: E402

PUBLIC, PRIVATE = "127.0.23.60", "127.0.24.60"


def _spec(ng_port: int, calls: int) -> str:
    return yaml.safe_dump({
        "version": 1, "name": "relay-bench",
        "carriers": [{"name": "c", "trunks": [{"name": "t", "hosts": [{"address": "127.0.23.61"}]}]}],
        "sbc": {"domain": "sbc.bench.test", "admission": {"max_concurrent_calls": calls},
                "nodes": [{"name": "sbc-1", "address": PUBLIC, "metrics_port": None,
                           "listen": [{"transport": "udp", "port": free_port(PUBLIC)}]}],
                "media": {"nodes": [{"node": "sbc-1", "private": PRIVATE}], "port_min": 45000,
                          "port_max": 45000 + 4 * calls + 99, "ng_port": ng_port, "metrics_port": None}},
        "agents": {"instances": [{"name": "a", "host": "127.0.24.61"}]},
    })


def _packet(seq: int, ssrc: int) -> bytes:
    return struct.pack("!BBHIIQ", 0x80, 0, seq & 0xFFFF, seq * 160, ssrc, time.perf_counter_ns()) + b"\xff" * 152


def _run(pairs: list[tuple[socket.socket, tuple[str, int], socket.socket]], duration: float) -> tuple[list[float], int, int]:
    """Every 20 ms one packet on every (sender, destination, receiver); latencies in ms."""
    latencies: list[float] = []
    sent = received = 0
    with selectors.DefaultSelector() as sel:
        for _, _, rx in pairs:
            rx.setblocking(False)
            sel.register(rx, selectors.EVENT_READ)
        start = time.monotonic()
        tick = 0
        while time.monotonic() - start < duration:
            for i, (tx, dst, _) in enumerate(pairs):
                tx.sendto(_packet(tick, i), dst)
                sent += 1
            tick += 1
            next_tick = start + tick * 0.02
            while (left := next_tick - time.monotonic()) > 0:
                for key, _ in sel.select(left):
                    received += _read(key.fileobj, latencies)  # type: ignore[arg-type]
        end = time.monotonic() + 1.0
        while received < sent and time.monotonic() < end:
            for key, _ in sel.select(0.05):
                received += _read(key.fileobj, latencies)  # type: ignore[arg-type]
    return latencies, sent, received


def _read(sock: socket.socket, latencies: list[float]) -> int:
    count = 0
    now = time.perf_counter_ns()
    while True:
        try:
            data = sock.recv(2048)
        except (BlockingIOError, ConnectionRefusedError):
            return count
        if len(data) >= 20:
            latencies.append((now - struct.unpack_from("!Q", data, 12)[0]) / 1e6)
            count += 1


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=50)
    ap.add_argument("--duration", type=float, default=20.0)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="voxops-relay-bench-"))
    ng_port = free_port(PUBLIC)
    topo = load_topology_text(_spec(ng_port, args.calls))
    render_all(plan(topo, str(work)), work)
    relay = start_rtpengine("rtpengine", work / "sbc-1" / "etc" / "rtpengine.conf", work / "run")
    socks: list[socket.socket] = []
    try:
        wait_ng(PUBLIC, ng_port, relay)
        proc = psutil.Process(relay.p.pid)
        relayed, direct = [], []
        t0 = time.perf_counter()
        for n in range(args.calls):
            outside, inside = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            outside.bind((PUBLIC, 0))
            inside.bind((PRIVATE, 0))
            socks += [outside, inside]
            to_public, to_private = open_relay_call(PUBLIC, ng_port, f"bench-{n}", outside, inside)
            relayed += [(outside, to_public, inside), (inside, to_private, outside)]
        setup_ms = (time.perf_counter() - t0) * 1000 / args.calls
        cpu0 = proc.cpu_times()
        lat, sent, got = _run(relayed, args.duration)
        cpu1 = proc.cpu_times()
        cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
        for n in range(args.calls):
            close_relay_call(PUBLIC, ng_port, f"bench-{n}")
        # the peer: the same packets between the same kind of sockets, no relay in between
        for _ in range(args.calls):
            a, b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            a.bind((PUBLIC, 0))
            b.bind((PRIVATE, 0))
            socks += [a, b]
            direct += [(a, b.getsockname(), b), (b, a.getsockname(), a)]
        base, base_sent, base_got = _run(direct, min(args.duration, 10.0))
    finally:
        for s in socks:
            s.close()
        relay.stop()
    added = [statistics.median(lat) - statistics.median(base), _pct(lat, 0.99) - _pct(base, 0.99)]
    print(f"relay: {args.calls} concurrent calls, {args.duration:g} s, RTP both ways every 20 ms "
          f"({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")
    print(f"  ng offer+answer per call: {setup_ms:.2f} ms")
    print(f"  delivered through the relay: {got}/{sent} packets ({100 * got / max(sent, 1):.2f} %)")
    print(f"  one-way latency through the relay: median {statistics.median(lat):.3f} ms, p99 {_pct(lat, 0.99):.3f} ms")
    print(f"  direct loopback (peer): median {statistics.median(base):.3f} ms, p99 {_pct(base, 0.99):.3f} ms "
          f"({base_got}/{base_sent} delivered)")
    print(f"  added by the relay: median {added[0]:.3f} ms, p99 {added[1]:.3f} ms")
    print(f"  rtpengine CPU: {cpu:.2f} s over {args.duration:g} s = {100 * cpu / args.duration:.1f} % of a core, "
          f"{1000 * cpu / (args.duration * args.calls):.2f} ms CPU per call-second")
    return 0


if __name__ == "__main__":
    sys.exit(main())
