"""`voxops certs` against openssl s_server endpoints on 127.0.7.x with generated certificates."""

from __future__ import annotations

import contextlib
import json
import re

import pytest

from tests.probes.specs import write_probe_spec
from tests.support.pki import make_ca, make_leaf
from tests.support.probe_peers import addr, port_on, sipp_uas, tls_server

HOST = addr(51)
NAME = "sbc.probe.test"


@pytest.fixture
def endpoints(tmp_path):
    """Six servers: valid, expiring in 5 days, expired, wrong hostname, untrusted CA, TLS 1.1 only."""
    ca = make_ca(tmp_path, "ca")
    rogue = make_ca(tmp_path, "rogue")
    certs = {
        "valid": make_leaf(tmp_path, "valid", ca, [NAME], days_left=200),
        "expiring": make_leaf(tmp_path, "expiring", ca, [NAME], days_left=5),
        "expired": make_leaf(tmp_path, "expired", ca, [NAME], days_left=-3),
        "wrongname": make_leaf(tmp_path, "wrongname", ca, ["other.probe.test"], days_left=200),
        "untrusted": make_leaf(tmp_path, "untrusted", rogue, [NAME], days_left=200),
        "legacy": make_leaf(tmp_path, "legacy", ca, [NAME], days_left=200),
    }
    legacy = ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]
    with contextlib.ExitStack() as stack:
        entries = []
        for name, issued in certs.items():
            port = port_on(HOST)
            extra = legacy if name == "legacy" else []
            stack.enter_context(tls_server(HOST, port, issued.cert_path, issued.key_path, *extra))
            entries.append({"name": name, "host": HOST, "port": port, "server_name": NAME, "ca": "ca.pem",
                            "warn_days": 21, "critical_days": 7})
        yield entries


def test_each_certificate_is_classified(tmp_path, cli, endpoints):
    spec = write_probe_spec(tmp_path, tls_endpoints=endpoints)
    code, out, _ = cli("certs", spec, "--format", "json")
    assert code == 1
    report = json.loads(out)
    codes = {e["name"]: sorted((f["code"], f["severity"]) for f in report["findings"]
                               if f["message"].startswith(e["name"] + ":")) for e in endpoints}
    assert codes == {
        "valid": [],
        "expiring": [("cert-expiring", "critical")],  # 5 days is inside critical_days 7
        "expired": [("cert-expired", "critical")],
        "wrongname": [("cert-hostname-mismatch", "critical")],
        "untrusted": [("cert-untrusted", "critical")],
        "legacy": [("tls-old-protocol", "warning")],
    }
    results = {e["name"]: e for e in report["endpoints"]}
    valid = results["valid"]
    assert valid["handshake"] and valid["trusted"] and valid["hostname_match"]
    assert valid["protocol"] == "TLSv1.3" and valid["trust_anchor"] == "ca.pem"
    assert 199 < valid["chain"][0]["days_left"] <= 200 and valid["chain"][0]["san"] == [NAME]
    assert results["expired"]["trusted"] is True  # trust is judged apart from expiry
    assert results["untrusted"]["trusted"] is False
    assert results["legacy"]["protocol"] == "TLSv1.1"
    assert valid["old_protocol_accepted"] is None
    assert all(f["runbook"] == "cert-expiry" for f in report["findings"])


def test_warning_window_and_nagios(tmp_path, cli, endpoints):
    expiring = [e for e in endpoints if e["name"] == "expiring"][0] | {"critical_days": 3}
    spec = write_probe_spec(tmp_path, tls_endpoints=[expiring])
    code, out, _ = cli("certs", spec, "--nagios")
    assert code == 1
    assert out.startswith("TLS WARNING - expiring: certificate expires in 5.0 days")
    assert re.search(r"\| 'expiring_days'=(5|4\.99)d;21;3$", out.strip())


def test_tls_down_while_udp_answers_is_a_silent_fallback(tmp_path, cli):
    node = addr(52)
    tls_port, udp_port = port_on(node), port_on(node)
    spec = write_probe_spec(
        tmp_path,
        nodes=[{"name": "sbc-1", "address": node, "listen": [{"transport": "udp", "port": udp_port},
                                                                 {"transport": "tls", "port": tls_port}]}],
        sbc_extra={"tls": {"certificate": "sbc.pem", "key": "sbc.key"}},
        tls_endpoints=[{"name": "sbc-1-tls", "host": node, "port": tls_port, "node": "sbc-1"}],
    )
    with sipp_uas(node, udp_port, tmp_path):
        code, out, err = cli("certs", spec, "--format", "json")
    assert out, err
    report = json.loads(out)
    assert code == 1
    assert [(f["code"], f["severity"]) for f in report["findings"]] == [("tls-silent-fallback", "critical")]
    assert report["findings"][0]["evidence"]["fallback"] == f"udp:{node}:{udp_port}"
    assert report["endpoints"][0]["error"] == "connection refused"
    # with the UDP side silent too, it is only unreachable
    code, out, _ = cli("certs", spec, "--format", "json")
    assert [f["code"] for f in json.loads(out)["findings"]] == ["tls-unreachable"]


def test_mutual_tls_client_certificates(tmp_path, cli):
    ca = make_ca(tmp_path, "ca")
    server = make_leaf(tmp_path, "server", ca, [NAME])
    good = make_leaf(tmp_path, "client", ca, ["voxops-client"], client=True)
    rogue = make_ca(tmp_path, "rogue")
    bad = make_leaf(tmp_path, "badclient", rogue, ["intruder"], client=True)
    port = port_on(HOST)
    base = {"host": HOST, "port": port, "server_name": NAME, "ca": "ca.pem"}
    spec = write_probe_spec(tmp_path, tls_endpoints=[
        base | {"name": "mtls-good", "client_certificate": good.cert_path.name, "client_key": good.key_path.name},
        base | {"name": "mtls-bad", "client_certificate": bad.cert_path.name, "client_key": bad.key_path.name},
    ])
    strict = ["-Verify", "1", "-verify_return_error", "-CAfile", str(ca.cert_path)]
    # TLS 1.3 rejects after the handshake, TLS 1.2 inside it: both are a rejection, not "unreachable"
    for version in ("-tls1_3", "-tls1_2"):
        with tls_server(HOST, port, server.cert_path, server.key_path, version, *strict):
            good_code, good_out, _ = cli("certs", spec, "--endpoint", "mtls-good", "--format", "json")
            bad_code, bad_out, _ = cli("certs", spec, "--endpoint", "mtls-bad", "--format", "json")
        assert good_code == 0, good_out
        assert json.loads(good_out)["endpoints"][0]["client_accepted"] is True
        assert bad_code == 1
        assert [f["code"] for f in json.loads(bad_out)["findings"]] == ["tls-client-cert-rejected"], bad_out


def test_an_expiring_intermediate_in_the_chain_is_found(tmp_path, cli):
    root = make_ca(tmp_path, "root")
    intermediate = make_ca(tmp_path, "intermediate", issuer=root, days_left=3)
    leaf = make_leaf(tmp_path, "leaf", intermediate, [NAME], days_left=300)
    port = port_on(HOST)
    spec = write_probe_spec(tmp_path, tls_endpoints=[{"name": "chained", "host": HOST, "port": port, "server_name": NAME,
                                                "ca": root.cert_path.name}])
    with tls_server(HOST, port, leaf.cert_path, leaf.key_path, "-cert_chain", str(intermediate.cert_path)):
        code, out, _ = cli("certs", spec, "--format", "json")
    report = json.loads(out)
    endpoint = report["endpoints"][0]
    assert [c["subject"] for c in endpoint["chain"]] == [f"CN={NAME}", "CN=intermediate CA"]
    assert endpoint["trusted"] is True  # leaf -> intermediate (sent) -> root (the spec's CA)
    assert code == 1
    assert [(f["code"], f["severity"], f["evidence"]["position"]) for f in report["findings"]] == [
        ("cert-expiring", "critical", 1)]
