"""One smoke test per family of checks a drill consults: the real command, run as a user
runs it (`python -m voxops ...`), reports the same finding codes a drill reads in-process.
No lab: the inputs are small and local (a generated capture, nothing listening on
127.0.32.x, a scripted SBC peer)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import free_port, need_tool
from tests.probes.call_peer import CallPeer
from tests.probes.specs import write_probe_spec
from voxops.lab import consult

DIAGNOSIS = Path(__file__).resolve().parent.parent / "data" / "diagnosis"


def _real(*args: str) -> tuple[int, list[str]]:
    cp = subprocess.run([sys.executable, "-m", "voxops", *args, "--format", "json"], capture_output=True,
                        timeout=120, check=False)
    assert cp.returncode in (0, 1), cp.stderr.decode()
    data = json.loads(cp.stdout)
    return cp.returncode, sorted(consult_codes(data))


def consult_codes(node: object) -> list[str]:
    """Every finding code anywhere in a command's JSON."""
    if isinstance(node, dict):
        if {"code", "severity", "message"} <= node.keys():
            return [node["code"]]
        return [c for value in node.values() for c in consult_codes(value)]
    if isinstance(node, list):
        return [c for value in node for c in consult_codes(value)]
    return []


def _in_process(answer: consult.Consulted) -> list[str]:
    found, why = answer
    assert why is None
    return sorted(f.code for f in found)


def test_diagnose_family(tmp_path) -> None:
    from voxops.analysis.loader import analyse_capture

    pcap, spec = DIAGNOSIS / "one_way.pcap", DIAGNOSIS / "topology.yaml"
    (dialog,) = analyse_capture(pcap).dialogs
    code, codes = _real("diagnose", dialog.call_id, "--pcap", str(pcap), "--spec", str(spec))
    assert "one-way-audio" in codes and code == 1
    assert codes == _in_process(consult.diagnose(dialog.call_id, pcap, spec))


def test_probe_family(tmp_path) -> None:
    host = "127.0.32.20"
    spec = write_probe_spec(tmp_path, trunk_hosts=[{"address": host, "port": free_port(host)}],
                      options_ping={"interval_s": 1, "failure_threshold": 1},
                      nodes=[{"name": "sbc-1", "address": "127.0.32.21"}])
    _, codes = _real("probe", str(spec), "--once", "--target", "carrier-a-main")
    assert codes == ["trunk-down"] == _in_process(consult.probe(spec, "carrier-a-main"))


def test_probe_call_family(tmp_path) -> None:
    with CallPeer("127.0.32.22", echo=False) as peer:
        spec = write_probe_spec(tmp_path, trunk_hosts=[{"address": "127.0.32.23", "port": 5060}],
                          options_ping={"enabled": False},
                          nodes=[{"name": "sbc-1", "address": "127.0.32.22",
                                  "listen": [{"transport": "udp", "port": peer.port}]}])
        _, codes = _real("probe", str(spec), "--call", "--call-seconds", "0.5")
        assert codes == ["one-way-audio"] == _in_process(consult.call(spec, None))


def test_certs_family(tmp_path) -> None:
    host = "127.0.32.24"
    spec = write_probe_spec(tmp_path, tls_endpoints=[{"name": "gone", "host": host, "port": free_port(host)}])
    _, codes = _real("certs", str(spec))
    assert codes and codes == _in_process(consult.certs(spec))


def test_dns_family(tmp_path) -> None:
    dnsmasq = need_tool("dnsmasq")
    vantage = {"name": "v1", "address": "127.0.32.25", "port": free_port("127.0.32.25")}
    records = [{"name": "sbc-1.probe.test", "type": "A", "expect": ["127.0.7.251"]}]
    spec = write_probe_spec(tmp_path, dns={"vantages": [vantage], "records": records, "timeout_s": 1.0})
    server = subprocess.Popen(
        [dnsmasq, "-k", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces",
         f"--listen-address={vantage['address']}", f"--port={vantage['port']}", "--pid-file=",
         "--host-record=sbc-1.probe.test,127.0.7.99"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        _, codes = _real("dns", str(spec))
        assert codes and codes == _in_process(consult.dns(spec))
    finally:
        server.terminate()
        server.wait(timeout=5)
