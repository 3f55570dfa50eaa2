"""The spec's constrained types: canonical addresses, RFC 1123 names, strict charsets."""

from __future__ import annotations

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from tests.support.specs import spec
from voxops.errors import InvalidInput, SpecError
from voxops.spec.loader import load_topology_text
from voxops.spec.types import DnsName, Host, IPAddress, Percent, Pipeline, SipUri, Url


def _ok(kind: object, value: object) -> object:
    return TypeAdapter(kind).validate_python(value)


@pytest.mark.parametrize(("kind", "given", "canonical"), [
    (IPAddress, "2001:DB8:0:0::1", "2001:db8::1"),
    (IPAddress, "::ffff:127.0.0.1", "::ffff:7f00:1"),
    (Host, "[2001:db8::1]", "2001:db8::1"),
    (Host, "SBC-1.Example.COM", "sbc-1.example.com"),
    (Host, "127.0.5.17", "127.0.5.17"),
    (DnsName, "_sip._udp.SBC.example.com", "_sip._udp.sbc.example.com"),
    (SipUri, "sip:ivr@[2001:DB8::1]:5080", "sip:ivr@[2001:db8::1]:5080"),
    (SipUri, "sips:Carrier.Example.com", "sips:carrier.example.com"),
    (Url, "https://[2001:db8::0:1]:8443/health%2Fz", "https://[2001:db8::1]:8443/health%2Fz"),
    (Pipeline, "my_pkg.agents:Voice", "my_pkg.agents:Voice"),
    (Percent, 12.5, 12.5),
])
def test_values_come_out_canonical(kind, given, canonical):
    assert _ok(kind, given) == canonical


@pytest.mark.parametrize(("kind", "value"), [
    (IPAddress, "fe80::1%eth0"),
    (IPAddress, 'fe80::1%x")\nloadmodule "exec.so"'),
    (Host, "fe80::1%eth0"),
    (Host, "[fe80::1%eth0]"),
    (Host, "host_1.example.com"),  # RFC 1123: no underscore in a host name
    (Host, "-host.example.com"),
    (Host, "127.0.5.300"),  # all-numeric: an address or nothing
    (Host, "127.0.5.1z9"),  # Kamailio reads an address and a stray word
    (Host, "h\u00e9.example.com"),
    (DnsName, "_sip._udp.sbc example.com"),
    (SipUri, "sip:ivr@127.0.0.1;transport=tcp"),
    (SipUri, "sip:ivr@[fe80::1%eth0]:5080"),
    (SipUri, "sip:ivr@127.0.0.1:70000"),
    (SipUri, "sip:$ru@127.0.0.1"),
    (Url, "https://asr.test/health\u2028"),
    (Url, "https://asr.test/{{ x }}"),
    (Pipeline, "m\u00f6d:Cls"),
    (Pipeline, "echo\n"),
    (Percent, 0.00001),
    (Percent, float("nan")),
])
def test_hostile_or_ambiguous_values_are_refused(kind, value):
    with pytest.raises(ValidationError):
        _ok(kind, value)


def test_a_realm_cannot_be_an_ipv6_address():
    data = spec()
    data["carriers"][0]["trunks"][0]["hosts"] = [{"address": "2001:db8::5"}]
    data["carriers"][0]["trunks"][0]["credentials"] = {"username": "acme", "password": {"env": "PW"}}
    with pytest.raises(SpecError, match="realm"):
        load_topology_text(yaml.safe_dump(data))
    data["carriers"][0]["trunks"][0]["credentials"]["realm"] = "carrier.example.com"
    assert load_topology_text(yaml.safe_dump(data)).carriers[0].trunks[0].hosts[0].address == "2001:db8::5"


@pytest.mark.parametrize("number", ["1" + "0" * 5000, "0x" + "f" * 5000, "-" + "9" * 101])
def test_a_number_too_long_for_any_field_is_one_line(number):
    with pytest.raises(InvalidInput) as exc:
        load_topology_text(f"version: 1\nname: x\nslo: {{pdd_max_ms: {number}}}\n", "s.yaml")
    assert str(exc.value).startswith("s.yaml:3:") and "too long" in str(exc.value)
    assert len(str(exc.value)) < 200


@pytest.mark.parametrize("key", ["carriers:\u00a0[{name", "a[b]", "function-x", "line\nbreak", "k" * 5000])
def test_an_unknown_key_of_any_shape_is_one_line(key):
    with pytest.raises(SpecError) as exc:
        load_topology_text(yaml.safe_dump({"version": 1, "name": "x", key: 1}), "s.yaml")
    unknown = [p for p in exc.value.problems if "unknown key" in p]
    assert len(unknown) == 1 and "\n" not in unknown[0] and len(unknown[0]) < 300
