"""The rendered Kamailio SBC on 127.0.7.x: answers the prober's OPTIONS, goes down and up by the
threshold rule, and gives a scanner nothing."""

from __future__ import annotations

import json

from tests.probes.specs import write_probe_spec
from tests.support.pki import make_ca, make_leaf
from tests.support.probe_peers import addr, kamailio, port_on
from voxops.probes.monitor import Monitor, State, targets_of
from voxops.render.engine import plan, render_all
from voxops.spec.loader import load_topology

SBC = addr(71)


def test_rendered_sbc_answers_options_and_drops_scanners(tmp_path, cli):
    port = port_on(SBC)
    spec = write_probe_spec(
        tmp_path,
        trunk_hosts=[{"address": addr(72), "port": port_on(addr(72))}],
        nodes=[{"name": "sbc-1", "address": SBC, "listen": [{"transport": "udp", "port": port}],
                "metrics_port": port_on(SBC)}],
        sbc_ping={"interval_s": 1, "failure_threshold": 2},
    )
    topology, _ = load_topology(spec)
    out = tmp_path / "rendered"
    render_all(plan(topology, str(out)), out)
    cfg = out / "sbc-1" / "etc" / "kamailio.cfg"
    monitor = Monitor(targets_of(topology, "sbc-1"), timeout=0.5)
    with kamailio(cfg, SBC, port):
        code, probe_out, _ = cli("probe", spec, "--once", "--target", "sbc-1", "--format", "json")
        acode, audit_out, _ = cli("audit", SBC, "--spec", spec, "--timeout", "1", "--format", "json")
        monitor.probe_all()
    assert code == 0
    node = json.loads(probe_out)["targets"][0]
    assert node["state"] == "up" and node["last_code"] == 200 and node["target"]["failure_threshold"] == 2

    assert acode == 0, audit_out
    audit = json.loads(audit_out)
    assert audit["answers_scanner"] is False and audit["enumeration_answered"] is False
    assert audit["extensions"] == {} and audit["findings"] == []

    # stopped: down after exactly the spec's two misses; restarted: up at the next answer
    assert monitor.statuses[0].state is State.up
    seen = []
    for _ in range(2):
        monitor.probe_all()
        seen.append(monitor.statuses[0].state)
    assert seen == [State.up, State.down]
    with kamailio(cfg, SBC, port):
        monitor.probe_all()
    assert monitor.statuses[0].state is State.up and monitor.statuses[0].last_code == 200


def test_rendered_tls_sbc_answers_over_tls_and_its_certificate_checks_out(tmp_path, cli):
    host = addr(73)
    udp, tls, metrics = port_on(host), port_on(host), port_on(host)
    ca = make_ca(tmp_path, "ca")
    leaf = make_leaf(tmp_path, "sbc", ca, ["sbc.probe.test"], days_left=90)
    spec = write_probe_spec(
        tmp_path,
        nodes=[{"name": "sbc-1", "address": host, "metrics_port": metrics,
                "listen": [{"transport": "udp", "port": udp}, {"transport": "tls", "port": tls}]}],
        sbc_extra={"tls": {"certificate": str(leaf.cert_path), "key": str(leaf.key_path), "ca": str(ca.cert_path)}},
        tls_endpoints=[{"name": "sbc-1-tls", "host": host, "port": tls, "server_name": "sbc.probe.test",
                        "node": "sbc-1"}],
    )
    topology, _ = load_topology(spec)
    out = tmp_path / "rendered"
    render_all(plan(topology, str(out)), out)
    with kamailio(out / "sbc-1" / "etc" / "kamailio.cfg", host, udp):
        code, probe_out, _ = cli("probe", spec, "--once", "--target", "sbc-1", "--format", "json")
        ccode, certs_out, _ = cli("certs", spec, "--format", "json")
    assert code == 0, probe_out
    by_transport = {t["target"]["transport"]: t for t in json.loads(probe_out)["targets"]}
    assert by_transport["tls"]["state"] == "up" and by_transport["tls"]["last_code"] == 200
    assert by_transport["udp"]["state"] == "up"
    assert ccode == 0, certs_out
    endpoint = json.loads(certs_out)["endpoints"][0]
    assert endpoint["trusted"] is True and endpoint["hostname_match"] is True  # the node's CA from sbc.tls
    assert endpoint["protocol"] in ("TLSv1.2", "TLSv1.3") and endpoint["old_protocol_accepted"] is None
    assert 89 < endpoint["chain"][0]["days_left"] <= 90
