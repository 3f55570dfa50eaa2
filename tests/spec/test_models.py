"""Model rules: constrained values, cross-field rules, references, secrets by reference."""

from __future__ import annotations

import pytest

from tests.spec.conftest import PRODUCTION
from voxops.errors import SpecError
from voxops.spec.loader import load_topology


def _problems(write_spec, data) -> list[str]:
    with pytest.raises(SpecError) as exc:
        load_topology(write_spec(data))
    return exc.value.problems


@pytest.mark.parametrize(
    "value",
    ['evil"name', "two\nlines", "a;b", "UPPER", "x" * 64, "-lead"],
)
def test_names_cannot_carry_config_syntax(write_spec, prod_data, value):
    prod_data["carriers"][0]["name"] = value
    assert any("carriers[0].name" in p for p in _problems(write_spec, prod_data))


@pytest.mark.parametrize(
    "field, value",
    [
        (("sbc", "domain"), 'sbc.example";drop'),
        (("sbc", "tls", "certificate"), "/etc/x.crt\nloadmodule"),
        (("sbc", "ivr_fallback"), {"uri": 'sip:ivr@host";x'}),
        (("agents", "dependencies", 0, "url"), "https://asr/health\nX"),
        (("agents", "pipeline"), "os:system;"),
    ],
)
def test_injection_rejected_everywhere(write_spec, prod_data, field, value):
    node = prod_data
    for part in field[:-1]:
        node = node[part]
    node[field[-1]] = value
    assert _problems(write_spec, prod_data)


def test_secret_must_be_a_reference(write_spec, prod_data):
    prod_data["carriers"][0]["trunks"][0]["credentials"]["password"] = "hunter2"
    assert any("credentials.password" in p for p in _problems(write_spec, prod_data))
    prod_data["carriers"][0]["trunks"][0]["credentials"]["password"] = {"env": "A", "file": "/x"}
    assert any("exactly one of env or file" in p for p in _problems(write_spec, prod_data))


def test_unique_names_and_sockets(write_spec, prod_data):
    prod_data["carriers"][1]["name"] = "carrier-a"
    prod_data["agents"]["instances"][1]["name"] = "agent-1"
    prod_data["agents"]["instances"][2]["host"] = prod_data["agents"]["instances"][3]["host"]
    problems = _problems(write_spec, prod_data)
    assert any("duplicate carrier name 'carrier-a'" in p for p in problems)
    assert any("duplicate agent name 'agent-1'" in p for p in problems)
    assert any("duplicate listening socket" in p for p in problems)


def test_references_must_exist(write_spec, prod_data):
    prod_data["sbc"]["ivr_fallback"] = {"agent": "agent-9"}
    prod_data["tls_endpoints"][0]["node"] = "sbc-9"
    problems = _problems(write_spec, prod_data)
    assert any("no agent instance named 'agent-9'" in p for p in problems)
    assert any("no SBC node named 'sbc-9'" in p for p in problems)


def test_tls_listener_needs_certificate(write_spec, prod_data):
    del prod_data["sbc"]["tls"]
    assert any("sbc.tls" in p for p in _problems(write_spec, prod_data))


def test_codec_policy_consistent(write_spec, prod_data):
    prod_data["sbc"]["codec_policy"]["deny"] = ["PCMU"]
    assert any("both allowed and denied" in p for p in _problems(write_spec, prod_data))


def test_options_reply_codes_never_408(write_spec, prod_data):
    prod_data["carriers"][0]["trunks"][0]["options_ping"]["reply_codes"] = [200, 408]
    assert any("408" in p for p in _problems(write_spec, prod_data))


def test_files_checked_when_asked(write_spec, prod_data, tmp_path):
    path = write_spec(prod_data)
    load_topology(path)  # paths are not required to exist by default
    with pytest.raises(SpecError) as exc:
        load_topology(path, check_files=True)
    assert any("file not found: /etc/voxops/tls/sbc.crt" in p for p in exc.value.problems)
    for name in ("sbc.crt", "sbc.key", "ca.crt"):
        (tmp_path / name).write_text("x")
    prod_data["sbc"]["tls"].update(certificate="sbc.crt", key="sbc.key", ca="ca.crt")
    load_topology(write_spec(prod_data), check_files=True)  # relative to the spec's folder


def test_addresses_name_every_host():
    topology, _ = load_topology(PRODUCTION)
    names = topology.addresses()
    assert names["203.0.113.10"] == "carrier-a/carrier-a-main"
    assert names["10.0.1.11"] == "sbc-1" and names["192.0.2.11"] == "sbc-1"
    assert names["10.0.2.24"] == "agent-4"
