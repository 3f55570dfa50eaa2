"""A capture replayed onto a veth pair between two test network namespaces, watched with
`voxops watch --interface`: every record equals the offline diagnosis of what a second
dumpcap (same filter) took on the same interface."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.analysis import sbc_synthetic
from tests.conftest import need_root, need_tool
from tests.watch.test_watch_equality import _offline_record, synthetic  # noqa: F401 - the fixture
from voxops.spec.loader import load_topology
from voxops.watch.interface import bpf_filter
from voxops.watch.pcapstream import PcapStream

INJECT = """
import socket, sys, time
sys.path.insert(0, {repo!r})
from voxops.watch.pcapstream import PcapStream
frames = [f for _, _, f in PcapStream("x").feed(open({capture!r}, "rb").read())]
with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
    s.bind(({iface!r}, 0))
    for i, frame in enumerate(frames):
        s.send(frame)
        if i % 20 == 19:
            time.sleep(0.002)
"""


def _ns(ns: str, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv]


@pytest.fixture
def veth():  # type: ignore[no-untyped-def]
    need_root()
    need_tool("ip")
    tag = f"{os.getpid() % 100000}"
    a, b = f"vxwa{tag}", f"vxwb{tag}"
    ns_a, ns_b = f"voxops-wa-{tag}", f"voxops-wb-{tag}"
    run = lambda *argv: subprocess.run(argv, check=True, capture_output=True, timeout=30)  # noqa: E731
    try:
        run("ip", "netns", "add", ns_a)
        run("ip", "netns", "add", ns_b)
        run("ip", "link", "add", a, "netns", ns_a, "type", "veth", "peer", "name", b, "netns", ns_b)
        for ns, dev in ((ns_a, a), (ns_b, b)):
            run(*_ns(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"))
            run(*_ns(ns, "sysctl", "-qw", f"net.ipv6.conf.{dev}.disable_ipv6=1"))
            run(*_ns(ns, "ip", "link", "set", dev, "up"))
            run(*_ns(ns, "ip", "link", "set", "lo", "up"))
        yield ns_a, a, ns_b, b
    finally:
        for ns in (ns_a, ns_b):
            subprocess.run(["ip", "netns", "delete", ns], capture_output=True, timeout=30)


def test_records_from_an_interface_equal_the_offline_diagnosis(veth, synthetic: Path, tmp_path: Path) -> None:  # noqa: F811
    dumpcap = need_tool("dumpcap")
    ns_a, dev_a, ns_b, dev_b = veth
    spec = sbc_synthetic.SPEC
    bpf = bpf_filter(load_topology(spec)[0])
    jsonl, reference = tmp_path / "calls.jsonl", tmp_path / "reference.pcapng"
    watch = subprocess.Popen(
        _ns(ns_b, sys.executable, "-m", "voxops", "watch", "--interface", dev_b, "--spec", str(spec), "--jsonl",
            str(jsonl), "--idle-timeout", "3s", "--setup-timeout", "3s", "--duration", "90s"),
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(sbc_synthetic.REPO)})
    ref = subprocess.Popen(_ns(ns_b, dumpcap, "-i", dev_b, "-f", bpf, "-w", str(reference)),
                           stderr=subprocess.PIPE, text=True)
    try:
        assert watch.stderr is not None and ref.stderr is not None
        assert "capturing on" in watch.stderr.readline()
        assert "Capturing on" in ref.stderr.readline()
        time.sleep(2)  # the watch's own dumpcap is up too
        script = INJECT.format(repo=str(sbc_synthetic.REPO), capture=str(synthetic), iface=dev_a)
        subprocess.run(_ns(ns_a, sys.executable, "-c", script), check=True, timeout=120)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if jsonl.exists() and len(jsonl.read_text().splitlines()) == len(sbc_synthetic.TRUTH):
                break
            time.sleep(0.3)
        time.sleep(1)
    finally:
        for proc in (watch, ref):
            proc.send_signal(signal.SIGTERM)
        _, err = watch.communicate(timeout=30)
        ref.communicate(timeout=30)
    sent = len(list(PcapStream("x").feed(synthetic.read_bytes())))
    taken = len(list(PcapStream("x").feed(reference.read_bytes())))
    assert taken == sent, "the reference capture missed frames"
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert sorted(r["call_id"] for r in records) == sorted(sbc_synthetic.TRUTH), err
    for live in records:
        assert {**live, "node": None, "finished_by": None} == _offline_record(live["call_id"], reference, spec)
