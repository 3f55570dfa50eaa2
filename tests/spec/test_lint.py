"""Every lint rule: one spec that triggers it, and the reference spec that does not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.spec.conftest import LOCAL, PRODUCTION
from voxops.spec.lint import lint
from voxops.spec.loader import load_topology


def _codes(write_spec, data) -> set[str]:
    topology, _ = load_topology(write_spec(data))
    return {f.code for _, f in lint(topology)}


def _one_carrier(d):
    d["carriers"] = d["carriers"][:1]


def _one_trunk(d):
    d["carriers"] = d["carriers"][:1]
    d["carriers"][0]["trunks"] = d["carriers"][0]["trunks"][:1]


def _one_node(d):
    d["sbc"]["nodes"] = d["sbc"]["nodes"][:1]
    d["sbc"]["media"]["nodes"] = d["sbc"]["media"]["nodes"][:1]
    d["tls_endpoints"] = d["tls_endpoints"][:1]


def _one_agent(d):
    d["agents"]["instances"] = d["agents"]["instances"][:1]
    d["sbc"]["ivr_fallback"] = {"agent": "agent-1"}


def _no_ping(d):
    d["carriers"][1]["trunks"][0]["options_ping"] = {"enabled": False}


def _plain_beside_tls(d):
    d["sbc"]["nodes"][0]["listen"].append({"transport": "udp", "port": 5060, "address": "192.0.2.11"})


def _mtls_no_ca(d):
    del d["sbc"]["tls"]["ca"]


def _no_admission(d):
    d["sbc"]["admission"] = None


def _admission_disabled(d):
    d["sbc"]["admission"]["enabled"] = False


def _loose_slo(d):
    d["slo"]["asr"]["alert_below_percent"] = 80


def _loose_pdd(d):
    d["slo"]["pdd_max_ms"] = 5000


def _no_srv(d):
    del d["sbc"]["srv_name"]


def _denied_codec(d):
    d["carriers"][1]["trunks"][0]["codecs"] = ["PCMU", "G729"]


def _tls_unwatched(d):
    d["tls_endpoints"] = []


def _capacity(d):
    d["sbc"]["admission"]["max_concurrent_calls"] = 500
    del d["sbc"]["ivr_fallback"]


def _no_relay(d):
    del d["sbc"]["media"]


def _relay_ports_short(d):
    # 40 calls need 160 ports at 4 a call: 159 are one short
    d["sbc"]["media"]["port_min"], d["sbc"]["media"]["port_max"] = 30000, 30158


CASES: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    ("single-carrier", _one_carrier),
    ("single-trunk", _one_trunk),
    ("single-sbc-node", _one_node),
    ("single-agent", _one_agent),
    ("options-ping-disabled", _no_ping),
    ("tls-plain-fallback", _plain_beside_tls),
    ("mtls-without-ca", _mtls_no_ca),
    ("no-admission-control", _no_admission),
    ("no-admission-control", _admission_disabled),
    ("slo-looser-than-seed", _loose_slo),
    ("slo-looser-than-seed", _loose_pdd),
    ("srv-missing", _no_srv),
    ("denied-codec-on-trunk", _denied_codec),
    ("tls-not-watched", _tls_unwatched),
    ("capacity-mismatch", _capacity),
    ("no-media-relay", _no_relay),
    ("relay-ports-short", _relay_ports_short),
]


@pytest.mark.parametrize("code, mutate", CASES, ids=[f"{c}-{m.__name__}" for c, m in CASES])
def test_rule_fires(write_spec, prod_data, code, mutate):
    assert code not in _codes(write_spec, prod_data)
    mutate(prod_data)
    assert code in _codes(write_spec, prod_data)


def test_reference_specs_are_clean():
    for path in (LOCAL, PRODUCTION):
        topology, _ = load_topology(path)
        assert lint(topology) == []


def test_findings_point_to_runbooks(write_spec, prod_data):
    _one_trunk(prod_data)
    path = write_spec(prod_data)
    topology, located = load_topology(path)
    found = {f.code: (loc, f) for loc, f in lint(topology)}
    loc, finding = found["single-trunk"]
    assert finding.runbook == "single-point-of-failure"
    # the trunk list starts on the line of its first item
    line = next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if "name: carrier-a-main" in ln)
    assert located.where(loc).startswith(f"{path}:{line}:")


def test_relay_port_range_exactly_large_enough_is_clean(write_spec, prod_data):
    prod_data["sbc"]["media"]["port_min"], prod_data["sbc"]["media"]["port_max"] = 30000, 30159
    assert "relay-ports-short" not in _codes(write_spec, prod_data)


def test_relay_findings_are_errors_that_fail_validate(cli, write_spec, prod_data):
    _relay_ports_short(prod_data)
    code, out, _ = cli("validate", write_spec(prod_data))
    assert code == 1 and "4 ports a call" in out and "at least 160 ports" in out, out
    del prod_data["sbc"]["media"]
    code, out, _ = cli("validate", write_spec(prod_data))
    assert code == 1 and "no-media-relay" in out and "agent-1" in out, out


def test_no_relay_needed_in_a_loopback_lab_or_with_private_carriers(write_spec, prod_data):
    del prod_data["sbc"]["media"]
    for trunk in (t for c in prod_data["carriers"] for t in c["trunks"]):
        for i, host in enumerate(trunk["hosts"]):
            host["address"] = f"10.9.0.{i + 1}"
    assert "no-media-relay" not in _codes(write_spec, prod_data)
