"""`voxops dns` against dnsmasq vantages on 127.0.7.x that disagree, and one that never answers."""

from __future__ import annotations

import json
import time

import pytest

from tests.probes.specs import write_probe_spec
from tests.support.probe_peers import addr, blackhole, dnsmasq, knot, port_on

SRV = "_sip._udp.sbc.probe.test"
NODES = [{"name": "sbc-1", "address": addr(31)}, {"name": "sbc-2", "address": addr(32)}]
RECORDS = [
    {"name": "sbc-1.probe.test", "type": "A", "expect": [addr(31)]},
    {"name": "sbc-2.probe.test", "type": "A", "expect": [addr(32)]},
    {"name": SRV, "type": "SRV", "expect": ["10 50 5060 sbc-1.probe.test"]},
]


@pytest.fixture
def split_dns(tmp_path):
    """a (knot): the intended zone plus an SRV to a target without address; b (dnsmasq): the
    stale zone (sbc-1 at a decommissioned IP, no sbc-2, TTL 3600); c: never answers."""
    a_host, b_host, c_host = addr(41), addr(42), addr(43)
    a_port, b_port = port_on(a_host), port_on(b_host)
    zone = "\n".join([
        f"sbc-1 A {addr(31)}", f"sbc-2 A {addr(32)}",
        "_sip._udp.sbc SRV 10 50 5060 sbc-1", "_sip._udp.sbc SRV 20 50 5060 ghost",
    ])
    with (
        knot(a_host, a_port, "probe.test", zone, tmp_path, ttl=30),
        dnsmasq(b_host, b_port, f"--host-record=sbc-1.probe.test,{addr(99)}",
                f"--srv-host={SRV},sbc-1.probe.test,5060,10,50", ttl=3600),
        blackhole(c_host) as (c_port, _),
    ):
        yield [
            {"name": "vantage-a", "address": a_host, "port": a_port},
            {"name": "vantage-b", "address": b_host, "port": b_port},
            {"name": "vantage-c", "address": c_host, "port": c_port},
        ]


def _by_code(findings):
    out: dict[str, list[dict]] = {}
    for f in findings:
        out.setdefault(f["code"], []).append(f)
    return out


def test_split_vantages_are_compared(tmp_path, cli, split_dns):
    spec = write_probe_spec(tmp_path, nodes=NODES, dns={"vantages": split_dns, "records": RECORDS, "timeout_s": 1.0})
    started = time.monotonic()
    code, out, _ = cli("dns", spec, "--format", "json")
    elapsed = time.monotonic() - started
    assert code == 1
    report = json.loads(out)
    found = _by_code(report["findings"])

    # the never-answering vantage is named once, and did not hold the others up
    assert [f["evidence"]["vantage"] for f in found["dns-vantage-timeout"]] == ["vantage-c"]
    assert len(found["dns-vantage-timeout"][0]["evidence"]["records"]) == 3
    # about the slowest vantage (its 1 s timeout), not 3 records x 1 s in a row
    assert 1000 <= report["elapsed_ms"] < 1900
    assert elapsed < 4.0

    stray = found["dns-stray-address"]
    # reached directly and through the SRV's target, only at the stale vantage
    assert sorted((f["where"], f["evidence"]["address"], f["evidence"]["vantages"][0]) for f in stray) == [
        (SRV, addr(99), "vantage-b"), ("sbc-1.probe.test", addr(99), "vantage-b")]
    assert stray[0]["severity"] == "critical" and stray[0]["runbook"] == "dns-propagation"

    disagree = {f["where"] for f in found["dns-vantages-disagree"]}
    assert disagree == {"sbc-1.probe.test", "sbc-2.probe.test", SRV}
    assert found["dns-vantages-disagree"][0]["evidence"]["answers"] == {
        "vantage-a": [addr(31)], "vantage-b": [addr(99)]}

    assert [(f["where"], f["evidence"]["rcodes"]) for f in found["dns-error-rcode"]] == [
        ("sbc-2.probe.test", {"vantage-b": "NXDOMAIN"})]
    unresolved = found["dns-srv-target-unresolved"]
    assert [(f["evidence"]["target"], f["evidence"]["vantages"]) for f in unresolved] == [
        ("ghost.probe.test", ["vantage-a"])]
    assert [f["evidence"]["answer"] for f in found["dns-unexpected-answer"]] == ["20 50 5060 ghost.probe.test"]
    assert {(f["where"], tuple(f["evidence"]["ttl"])) for f in found["dns-ttl-too-long"]} == {
        ("sbc-1.probe.test", ("vantage-b",)), (SRV, ("vantage-b",))}
    assert [(f["where"], f["evidence"]["vantages"]) for f in found["dns-missing-answer"]] == [
        ("sbc-1.probe.test", ["vantage-b"])]

    srv = next(r for r in report["records"] if r["type"] == "SRV")
    a = next(v for v in srv["vantages"] if v["vantage"] == "vantage-a")
    assert a["srv_targets"] == {"ghost.probe.test": [], "sbc-1.probe.test": [addr(31)]}
    assert a["ttl"] == 30


def test_agreeing_vantages_are_ok(tmp_path, cli):
    hosts = [addr(44), addr(45)]
    ports = [port_on(h) for h in hosts]
    flags = [f"--host-record=sbc-1.probe.test,{addr(31)},::1", f"--srv-host={SRV},sbc-1.probe.test,5060,10,50",
             f"--naptr-record=sbc.probe.test,10,50,S,SIP+D2U,,{SRV}"]
    records = [RECORDS[0], RECORDS[2], {"name": "sbc-1.probe.test", "type": "AAAA", "expect": ["0::1"]},
               {"name": "sbc.probe.test", "type": "NAPTR", "expect": [f'10 50 "S" "SIP+D2U" "" {SRV}.']}]
    with dnsmasq(hosts[0], ports[0], *flags), dnsmasq(hosts[1], ports[1], *flags):
        vantages = [{"name": f"v{i}", "address": h, "port": p} for i, (h, p) in enumerate(zip(hosts, ports, strict=True))]
        spec = write_probe_spec(tmp_path, nodes=NODES, dns={"vantages": vantages, "records": records})
        code, out, _ = cli("dns", spec)
        ncode, nout, _ = cli("dns", spec, "--nagios")
        jcode, jout, _ = cli("dns", spec, "--format", "json")
    assert code == 0 and "no findings" in out and addr(31) in out
    assert ncode == 0 and nout.startswith("DNS OK - 4 records agree across 2 vantages | 'elapsed'=")
    answers = {(r["type"], v["vantage"]): v["answers"] for r in json.loads(jout)["records"] for v in r["vantages"]}
    assert answers[("AAAA", "v0")] == ["::1"]
    assert answers[("NAPTR", "v1")] == [f'10 50 "S" "SIP+D2U" "" {SRV}']


def test_no_vantage_answers_is_an_environment_problem(tmp_path, cli):
    with blackhole(addr(46)) as (port, _):
        spec = write_probe_spec(tmp_path, dns={"vantages": [{"name": "dead", "address": addr(46), "port": port}],
                                          "records": RECORDS[:1], "timeout_s": 0.3})
        code, _, err = cli("dns", spec)
        ncode, nout, _ = cli("dns", spec, "--nagios")
    assert code == 3 and "no vantage resolver answered: dead" in err
    assert ncode == 3 and nout.startswith("DNS UNKNOWN - no vantage resolver answered")


def test_spec_without_dns_checks_is_invalid_input(tmp_path, cli):
    code, _, err = cli("dns", write_probe_spec(tmp_path))
    assert code == 2 and "no dns.vantages" in err
