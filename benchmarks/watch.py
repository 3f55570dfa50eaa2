"""`voxops watch`: the call record search over 1 M records, and the HEP/UDP packet rate.

Phases:
  search: a store of --records call records (SQLite, and PostgreSQL when Debian's server
          is installed: started on 127.0.31.7 in a temporary directory); each query
          (a number and a 20-minute range, a finding and a range, a trunk and a range)
          run --repeat times with different values: median and worst milliseconds.
  rate:   --calls generated calls (SIP and 50 pps RTP both ways, 10 s each) sent as
          HEP3/UDP on 127.0.31.20 at rising packet rates to a watch pinned to one core;
          a rate passes when the watch counted every packet sent (none dropped by the
          socket) and finished every call.

Usage: .venv/bin/python benchmarks/watch.py [search|rate|all] [--records 1000000]
       [--calls 200] [--rates 5000,10000,20000,40000]
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import free_port  # noqa: E402
from tests.support.capture import request, response, sdp  # noqa: E402
from voxops.records.model import CallRecord  # noqa: E402
from voxops.records.store import INSERT_COLUMNS, Query, RecordStore, number_columns  # noqa: E402
from voxops.watch.hep import encode_v3  # noqa: E402

T0 = 1_767_225_600.0  # 2026-01-01
TRUNKS = ["carrier-a/main", "carrier-b/main", "carrier-c/backup"]
SAMPLE: list[tuple[str, float]] = []  # (number, start) of some records written: numbers searched
CODES = ["one-way-audio", "high-pdd", "trunk-503", "rtp-loss", "sip-retransmissions"]


def _template() -> dict:
    return CallRecord(
        call_id="x", legs=[], node="sbc-1", finished_by="bye", trunk=None, trunks_tried=[], direction="outbound",
        from_uri=None, to_uri=None, from_number="", to_number="", start=0.0, end=0.0, answered_at=None,
        ended_at=None, final_status=200, pdd_ms=180.0, duration_s=60.0, retransmissions=0, auth_challenges=0,
        path=["agent-1", "sbc-1", "carrier-a"], media=[], mos_min=4.3, loss_max_pct=0.0, findings=[],
        verdict="no problem found").model_dump(mode="json")


def fill(store: RecordStore, n: int) -> float:
    """n records over 30 days, numbers from a pool of 200 000; returns seconds taken."""
    rng = random.Random(1)
    SAMPLE.clear()
    base = _template()
    started = time.monotonic()
    cur = store.conn.cursor()
    batch: list[tuple] = []
    findings: list[tuple] = []
    next_id = 1
    for i in range(n):
        start = T0 + rng.random() * 30 * 86400
        to = f"1555{rng.randrange(200000):07d}"
        trunk = TRUNKS[i % 3]
        codes = [CODES[i % 5]] if i % 7 == 0 else []
        rec = {**base, "call_id": f"{i}@bench", "trunk": trunk, "to_number": to, "from_number": "15550199",
               "start": start, "end": start + 60,
               "findings": [{"code": c, "severity": "warning", "message": c, "runbook": None, "where": None,
                             "evidence": {}} for c in codes]}
        batch.append((next_id, rec["call_id"], "sbc-1", start, start + 60, trunk,
                      *number_columns("15550199", to), 200, json.dumps(rec)))
        if i % (n // 200 or 1) == 0:
            SAMPLE.append((to, start))
        findings += [(next_id, c, start) for c in codes]
        next_id += 1
        if len(batch) == 20000:
            _insert(store, cur, batch, findings)
            batch, findings = [], []
    _insert(store, cur, batch, findings)
    store.conn.commit()
    if store.pg:
        cur.execute("ANALYZE")
        store.conn.commit()
    return time.monotonic() - started


def _insert(store: RecordStore, cur: object, rows: list[tuple], findings: list[tuple]) -> None:
    cols = "id, " + INSERT_COLUMNS
    if store.pg:
        with cur.copy(f"COPY calls ({cols}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for r in rows:
                copy.write_row(r)
        with cur.copy("COPY call_findings (call, code, start) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for f in findings:
                copy.write_row(f)
    else:
        cur.executemany(f"INSERT INTO calls ({cols}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)  # type: ignore[attr-defined]
        cur.executemany("INSERT INTO call_findings (call, code, start) VALUES (?,?,?)", findings)  # type: ignore[attr-defined]


def time_queries(store: RecordStore, repeat: int) -> dict[str, tuple[float, float, int]]:
    rng = random.Random(2)
    out = {}
    def known(shift: float) -> Query:
        number, start = SAMPLE[rng.randrange(len(SAMPLE))]
        return Query([f"+{number[0]} {number[1:4]} {number[4:]}"], start - shift, start + 1200 - shift)

    kinds = {
        "number+20min": lambda t: known(rng.random() * 1200),
        "number (any time)": lambda t: Query([SAMPLE[rng.randrange(len(SAMPLE))][0]]),
        "caller+20min": lambda t: Query(["+1 555 0199"], t, t + 1200),
        "finding+20min": lambda t: Query([], t, t + 1200, finding=CODES[rng.randrange(5)]),
        "trunk+20min": lambda t: Query([], t, t + 1200, trunk=TRUNKS[rng.randrange(3)]),
    }
    for name, make in kinds.items():
        times, found = [], 0
        for _ in range(repeat):
            q = make(T0 + rng.random() * 29 * 86400)
            t = time.perf_counter()
            found += len(store.search(q))
            times.append((time.perf_counter() - t) * 1000)
        out[name] = (statistics.median(times), max(times), found)
    return out


def search_phase(records: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory(prefix="voxops-watch-bench-") as tmp:
        sqlite_path = Path(tmp) / "calls.db"
        store = RecordStore(str(sqlite_path))
        took = fill(store, records)
        print(f"sqlite: {records} records written in {took:.1f} s ({sqlite_path.stat().st_size / 1e6:.0f} MB)")
        _report(time_queries(store, repeat))
        store.close()
        try:
            from tests.watch.postgres import postgres_server

            with postgres_server(Path(tmp)) as url:
                pg = RecordStore(url)
                took = fill(pg, records)
                print(f"postgresql: {records} records written in {took:.1f} s")
                _report(time_queries(pg, repeat))
                pg.close()
        except (FileNotFoundError, subprocess.CalledProcessError, sqlite3.Error) as exc:
            print(f"postgresql: not measured ({exc})")


def _report(rows: dict[str, tuple[float, float, int]]) -> None:
    for name, (median, worst, found) in rows.items():
        print(f"  {name:20} median {median:7.2f} ms  worst {worst:7.2f} ms  ({found} records found)")


def calls_packets(calls: int, seconds: float = 10.0) -> list[tuple[float, bytes]]:
    """HEP3 packets of `calls` calls, 1 s apart, each answered with RTP both ways and hung up."""
    out: list[tuple[float, bytes]] = []
    a, b = "127.0.31.30", "127.0.31.31"
    for i in range(calls):
        t, cid, port = T0 + i, f"bench-{i}@watch", 10000 + 4 * (i % 5000)

        def sip(ts: float, data: bytes, forward: bool = True) -> None:
            src, dst = (a, b) if forward else (b, a)
            out.append((ts, encode_v3(src, 5060, dst, 5060, ts, data)))

        sip(t, request("INVITE", cid, body=sdp(a, port)))
        sip(t + 0.05, response(180, "Ringing", cid), False)
        sip(t + 0.5, response(200, "OK", cid, body=sdp(b, port + 2)), False)
        sip(t + 0.51, request("ACK", cid, to_tag="b1", branch="z9hG4bK2"))
        for k in range(int(seconds * 50)):
            ts = t + 0.52 + k * 0.02
            for src, sport, dst, dport, ssrc in ((a, port, b, port + 2, 1), (b, port + 2, a, port, 2)):
                rtp = bytes([0x80, 0]) + (k & 0xFFFF).to_bytes(2, "big") + (k * 160).to_bytes(4, "big")
                out.append((ts, encode_v3(src, sport, dst, dport, ts, rtp + ssrc.to_bytes(4, "big") + b"\xd5" * 160,
                                          proto_type=34)))
        end = t + 0.52 + seconds
        sip(end, request("BYE", cid, cseq=2, to_tag="b1", branch="z9hG4bK3"))
        sip(end + 0.01, response(200, "OK", cid, cseq=2, method="BYE", branch="z9hG4bK3"), False)
    out.sort(key=lambda p: p[0])
    return out


def _metric(port: int, name: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.31.20:{port}/metrics", timeout=10).read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def rate_step(packets: list[bytes], calls: int, rate: int) -> tuple[bool, float, float, float]:
    host = "127.0.31.20"
    hep_port, metrics_port = free_port(host), free_port(host, kind=socket.SOCK_STREAM)
    proc = subprocess.Popen(["taskset", "-c", "0", sys.executable, "-m", "voxops", "watch", "--hep",
                             f"{host}:{hep_port}", "--metrics", f"{host}:{metrics_port}", "--duration", "900s"],
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        for _ in range(2):
            proc.stderr.readline()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.31.21", 0))
            started = time.perf_counter()
            for i, data in enumerate(packets):
                sock.sendto(data, (host, hep_port))
                if i % 200 == 199:
                    ahead = (i + 1) / rate - (time.perf_counter() - started)
                    if ahead > 0:
                        time.sleep(ahead)
            sent_s = time.perf_counter() - started
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(1)
            got = _metric(metrics_port, 'voxops_watch_packets_total{kind="hep"}')
            done = _metric(metrics_port, "voxops_watch_records_total")
            if done >= calls:
                break
        rss = _rss_mb(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    return got == len(packets) and done >= calls, len(packets) / sent_s, got, rss


def _rss_mb(pid: int) -> float:
    import psutil

    return float(psutil.Process(pid).memory_info().rss) / 1e6


def rate_phase(calls: int, rates: list[int]) -> None:
    packets = [p for _, p in calls_packets(calls)]
    print(f"rate: {len(packets)} HEP3 packets of {calls} calls; watch pinned to core 0")
    best = 0.0
    for rate in rates:
        ok, achieved, got, rss = rate_step(packets, calls, rate)
        print(f"  asked {rate:6d} pps, sent {achieved:8.0f} pps: counted {got:.0f}/{len(packets)} "
              f"{'no drop' if ok else 'DROPS'}  (RSS {rss:.0f} MB)")
        if not ok:
            break
        best = max(best, achieved)
    print(f"highest rate with no drop: {best:.0f} packets/s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("phase", nargs="?", default="all", choices=["search", "rate", "all"])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rates", default="5000,10000,20000,40000")
    args = parser.parse_args()
    if args.phase in ("search", "all"):
        search_phase(args.records, args.repeat)
    if args.phase in ("rate", "all"):
        rate_phase(args.calls, [int(r) for r in args.rates.split(",")])


if __name__ == "__main__":
    main()
