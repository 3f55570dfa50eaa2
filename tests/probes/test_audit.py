"""`voxops audit`: sipvicious against a permissive SIPp registrar and the rendered Kamailio SBC."""

from __future__ import annotations

import json

from tests.probes.specs import write_probe_spec
from tests.support.probe_peers import addr, permissive_registrar, port_on


def test_permissive_uas_shows_exposure(tmp_path, cli):
    host = addr(61)
    port = port_on(host)
    spec = write_probe_spec(tmp_path, nodes=[{"name": "sbc-1", "address": host,
                                        "listen": [{"transport": "udp", "port": port}]}])
    with permissive_registrar(host, port, tmp_path):
        code, out, _ = cli("audit", host, "--spec", spec, "--timeout", "1", "--format", "json")
        ncode, nout, _ = cli("audit", f"{host}:{port}", "--spec", spec, "--timeout", "1", "--nagios")
    assert code == 1
    report = json.loads(out)
    assert report["target"] == f"{host}:{port}" and report["in_spec"] is True  # port from the spec
    assert report["answers_scanner"] is True
    assert report["extensions"] == {"100": "reqauth"}
    assert [(f["code"], f["runbook"]) for f in report["findings"]] == [
        ("sbc-answers-scanners", "sbc-exposure"), ("sbc-extensions-enumerable", "sbc-exposure")]
    assert ncode == 2 and nout.startswith("SIP_EXPOSURE CRITICAL - ")
    assert "'answers_scanner'=1;;0;0;1 'extensions_found'=1;;0;0" in nout


def test_refuses_addresses_outside_the_spec(tmp_path, cli):
    spec = write_probe_spec(tmp_path, nodes=[{"name": "sbc-1", "address": addr(62)}])
    code, _, err = cli("audit", f"{addr(63)}:5060", "--spec", spec)
    assert code == 2 and "not an SBC node address in the spec" in err and "--i-own-this" in err
    # a trunk host is in the topology but is a carrier's, not ours
    spec = write_probe_spec(tmp_path, trunk_hosts=[{"address": addr(64)}])
    code, _, err = cli("audit", f"{addr(64)}:5060", "--spec", spec)
    assert code == 2 and "refusing" in err


def test_refuses_without_a_spec(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("audit", f"{addr(66)}:5060")
    assert code == 2 and "no spec names it" in err


def test_never_leaves_loopback_in_tests(tmp_path, cli):
    spec = write_probe_spec(tmp_path, nodes=[{"name": "sbc-1", "address": "192.0.2.10"}])
    for args in (["192.0.2.10", "--spec", str(spec)], ["192.0.2.10:5060", "--i-own-this"]):
        code, _, err = cli("audit", *args)
        assert code == 2 and "only loopback targets" in err


def test_bad_arguments_are_invalid_input(cli):
    assert cli("audit", "sbc.example:5060", "--i-own-this")[0] == 2
    code, _, err = cli("audit", f"{addr(65)}:5060", "--i-own-this", "--extensions", "1-99999")
    assert code == 2 and "is a scan, not an audit" in err
    code, _, err = cli("audit", f"{addr(65)}:5060", "--i-own-this", "--method", "invite")
    assert code == 2 and "rings phones" in err
