"""No spec value can inject config: every field, set to every payload of a hostile corpus,
is either refused with a one-line error, or renders files that pass `kamailio -c` and
read back to exactly the values the spec holds.

The corpus holds what ends or extends a value in the files voxops writes: quotes, CR/LF,
NUL, Unicode line separators, Kamailio preprocessor directives and pseudo-variables,
Jinja2/Ansible markup, `;` (SIP URI and dispatcher attribute separator), IPv6 zone ids
carrying all of these, and strings far longer than any field.
"""

from __future__ import annotations

import copy
import hashlib
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import need_tool
from tests.support.pki import make_certs
from tests.support.specs import tls_spec, write_spec
from voxops.deploy.validation import check_kamailio, check_rtpengine
from voxops.errors import InvalidInput
from voxops.render.engine import plan
from voxops.spec.loader import load_topology_text
from voxops.spec.models import Topology

PASSWORD = "s3cret-pw"
EXEC_SO = ('x")\nloadmodule "exec.so"\nevent_route[core:worker-one-init] {\n\texec_cmd("cd;touch voxops-pwned");\n}\n'
           'modparam("uac", "credential", "a:b')
EXTRA_CARRIER = "x]:5060 0 0 rweight=1;trunk=a\n1 sip:203.0.113.66:5060 0 0 rweight=100;trunk=evil\n#"

PAYLOADS = {
    "exec-so": EXEC_SO, "extra-carrier": EXTRA_CARRIER,
    "quote": '"', "apostrophe": "'", "backtick": "`", "backslash": "\\",
    "lf": "\n", "cr": "\r", "crlf": "\r\n", "nul": "\x00", "tab": "\t", "esc": "\x1b",
    "u2028": "\u2028", "u2029": "\u2029", "nel": "\x85", "non-ascii": "\u00e9", "fullwidth-dot": "\uff0e",
    "semicolon": ";", "uri-param": ";transport=tcp", "hash": "#", "hash-bang": "#!",
    "define": "\n#!define WITH_EXEC 1\n", "define-inline": "#!define X 1", "dollar": "$", "pv": "$ru",
    "shell": "$(id)", "jinja-expr": "{{ 7*7 }}", "jinja-stmt": "{% raw %}", "braces": "{x}",
    "space": " ", "percent": "%", "colon": ":", "at": "@", "comma": ",", "angle": "<x>", "slash": "/",
    "long": "a" * 300, "very-long": "b" * 70_000, "empty": "",
    # values that may well be valid: when accepted, the render must read back to them
    "plain": "z9", "dash": "-", "upper": "Z", "digits": "7", "zone-name": "eth0",
}

NAMES = ["{p}", "x{p}"]
IPS = ["{p}", "127.0.5.1{p}", "fe80::1%{p}", "[fe80::1%{p}]"]
HOSTS = [*IPS, "host{p}.test"]
PATHS = ["{certs}/sbc{p}.crt"]
FIELDS: dict[str, list[str]] = {
    "name": NAMES,
    "carriers.0.name": NAMES,
    "carriers.0.trunks.0.name": NAMES,
    "carriers.0.trunks.0.hosts.0.address": HOSTS,
    "carriers.0.trunks.0.codecs.0": ["{p}", "PCMU{p}"],
    "carriers.0.trunks.0.credentials.username": NAMES,
    "carriers.0.trunks.0.credentials.realm": HOSTS,
    "carriers.0.trunks.0.credentials.password.env": ["PW{p}"],
    "carriers.0.trunks.0.weight": ["{p}", "1{p}"],
    "carriers.1.trunks.0.hosts.0.address": HOSTS,
    "carriers.1.trunks.0.hosts.0.transport": ["udp{p}"],
    "sbc.domain": HOSTS,
    "sbc.srv_name": ["{p}", "_sip._udp.{p}"],
    "sbc.nodes.0.name": NAMES,
    "sbc.nodes.0.address": IPS,
    "sbc.nodes.0.listen.0.advertise": HOSTS,
    "sbc.nodes.0.listen.1.address": IPS,
    "sbc.ivr_fallback.uri": ["{p}", "sip:ivr@127.0.5.30:5080{p}", "sip:{p}@127.0.5.30", "sip:ivr@[fe80::1%{p}]:5080"],
    "sbc.tls.certificate": PATHS,
    "sbc.tls.key": PATHS,
    "sbc.tls.ca": PATHS,
    "sbc.tls.min_version": ["TLSv1.2{p}"],
    "sbc.codec_policy.allow.0": ["{p}", "PCMU{p}"],
    "sbc.probing_mode": ["all{p}"],
    "agents.instances.0.name": NAMES,
    "agents.instances.0.host": IPS,
    "agents.pipeline": ["{p}", "mod:Cls{p}"],
    "agents.dependencies.0.name": NAMES,
    "agents.dependencies.0.kind": ["asr{p}"],
    "agents.dependencies.0.url": ["https://asr.test/health{p}", "https://[fe80::1%{p}]/h", "https://{p}/"],
    "dns.vantages.0.address": IPS,
    "dns.records.0.name": ["_sip._udp.{p}"],
    "dns.records.0.expect.0": ["10 50 5060 {p}"],
    "tls_endpoints.0.host": HOSTS,
    "tls_endpoints.0.server_name": HOSTS,
    "tls_endpoints.0.ca": PATHS,
    "slo.mos_min": ["{p}"],
    "sbc.media.relay": ["rtpengine{p}"],
    "sbc.media.nodes.0.node": NAMES,
    "sbc.media.nodes.0.public": IPS,
    "sbc.media.nodes.0.private": IPS,
    "sbc.media.transcode.0": ["{p}", "PCMA{p}"],
    "sbc.media.recording.dir": ["/var/spool/rec{p}"],
    "sbc.media.port_min": ["{p}", "3{p}"],
}
# the files whose change `kamailio -c` checks
KAMAILIO_SIDE = ("kamailio.cfg", "dispatcher.list", "credentials.cfg", "tls.cfg", "rtpengine.conf")


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> dict[str, str]:
    need_tool("openssl")
    return make_certs(tmp_path_factory.mktemp("certs"))


def full_spec(certs: dict[str, str]) -> dict[str, Any]:
    """A spec with every optional part set, so every field has a place to land."""
    data = tls_spec(certs, mutual=True)
    trunk = data["carriers"][0]["trunks"][0]
    trunk["credentials"] = {"username": "acme", "realm": "carrier-a.test", "password": {"env": "PW"}}
    trunk["codecs"] = ["PCMU", "PCMA"]
    trunk["limits"] = {"channels": 10, "cps": 1.5}
    sbc = data["sbc"]
    sbc["srv_name"] = "_sip._udp.sbc.render.test"
    sbc["nodes"][0]["listen"][0]["advertise"] = "pub.render.test"
    sbc["ivr_fallback"] = {"uri": "sip:ivr@127.0.5.30:5080"}
    sbc["admission"] = {"max_concurrent_calls": 10, "max_cps": 2.5}
    sbc["codec_policy"] = {"allow": ["PCMU", "PCMA", "G722"], "deny": ["G729"], "prefer": ["PCMA"]}
    data["agents"]["dependencies"] = [{"name": "asr", "kind": "asr", "url": "https://asr.test/health", "timeout_s": 1.5}]
    data["dns"] = {"vantages": [{"name": "v1", "address": "127.0.5.40"}],
                   "records": [{"name": "_sip._udp.sbc.render.test", "type": "SRV",
                                "expect": ["10 50 5060 sbc-1.render.test"]}]}
    data["slo"] = {"mos_min": 3.5}
    sbc["media"] = {"nodes": [{"node": "sbc-1", "public": "127.0.23.1", "private": "127.0.24.1"}],
                    "port_min": 31000, "port_max": 31999, "transcode": ["PCMA"],
                    "recording": {"enabled": True, "dir": "/var/spool/rec"}}
    data["tls_endpoints"] = [{"name": "sbc-tls", "host": "127.0.5.5", "server_name": "sbc.render.test",
                              "node": "sbc-1", "ca": certs["ca"]}]
    return data


def _set(data: dict[str, Any], path: str, value: str) -> None:
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    node: Any = data
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value


def _env(topo: Topology, password: str = PASSWORD) -> dict[str, str]:
    return {t.credentials.password.env: password for _, t in topo.trunks() if t.credentials and t.credentials.password.env}


def _render(topo: Topology, out: Path, password: str = PASSWORD) -> dict[str, str]:
    """Every file of the plan by destination, in plan order (rendered in memory: the
    sweep renders thousands of variants; write_kamailio puts one on disk)."""
    from voxops.render.engine import environment, render_job, resolve_secrets

    jobs = plan(topo, str(out), resolve_secrets(topo, out, env=_env(topo, password)))
    return {j.dest: render_job(environment(), j) for j in jobs}


def check_kamailio_files(out: Path, node: str, files: dict[str, str]) -> None:
    """`kamailio -c` on one node's rendered files, written where the config includes them."""
    for dest, text in files.items():
        if dest.startswith(f"{node}/etc/") and dest.endswith(KAMAILIO_SIDE):
            (out / dest).parent.mkdir(parents=True, exist_ok=True)
            (out / dest).write_text(text)
    check = check_kamailio(out / node / "etc" / "kamailio.cfg")
    assert check.ok, check.detail


def check_rtpengine_file(out: Path, node: str, files: dict[str, str]) -> None:
    """rtpengine reads the node's relay config as the spec meant it."""
    conf = out / node / "etc" / "rtpengine.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(files[f"{node}/etc/rtpengine.conf"])
    check = check_rtpengine(conf)
    assert check.ok, check.detail


def _lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def _hostport(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def check_dispatcher(topo: Topology, text: str) -> None:
    """Exactly the destinations of the spec: its trunk hosts, its agents, its IVR."""
    rows = [ln.split() for ln in _lines(text)]
    assert all(len(r) == 5 for r in rows), rows
    expected = []
    for _, trunk in topo.trunks():
        for h in trunk.hosts:
            uri = f"sip:{_hostport(h.address, h.port)}" + ("" if h.transport.value == "udp" else f";transport={h.transport.value}")
            expected.append(("1", uri, f"trunk={trunk.name}"))
    expected += [("2", f"sip:{_hostport(a.host, a.sip_port)}", f"trunk={a.name}") for a in topo.agents.instances]
    if topo.sbc.ivr_fallback and topo.sbc.ivr_fallback.uri:
        expected.append(("3", topo.sbc.ivr_fallback.uri, "trunk=ivr"))
    got = [(r[0], r[1], next(a for a in r[4].split(";") if a.startswith("trunk="))) for r in rows]
    assert sorted(got) == sorted(expected)


def check_readback(topo: Topology, files: dict[str, str], baseline: dict[str, str]) -> None:
    node = topo.sbc.nodes[0].name
    for (dest, text), base in zip(files.items(), baseline.values(), strict=True):  # the same plan
        assert not re.search(r"[^\x20-\x7e\t\n]", text), dest
        assert text.count("\n") == base.count("\n"), dest
    check_dispatcher(topo, files[f"{node}/etc/dispatcher.list"])
    creds = [f'modparam("uac", "credential", "{t.credentials.username}:{t.credentials.realm or t.hosts[0].address}:{PASSWORD}")'
             for _, t in topo.trunks() if t.credentials]
    assert _lines(files[f"{node}/etc/credentials.cfg"]) == creds
    cfg = files[f"{node}/etc/kamailio.cfg"]
    assert re.findall(r'^loadmodule "([^"]+)"', cfg, re.M) == re.findall(
        r'^loadmodule "([^"]+)"', baseline[next(k for k in baseline if k.endswith("/kamailio.cfg"))], re.M)
    tls = dict(ln.split(" = ", 1) for ln in _lines(files[f"{node}/etc/tls.cfg"]) if " = " in ln)
    assert tls["certificate"] == topo.sbc.tls.certificate and tls["private_key"] == topo.sbc.tls.key
    agent = topo.agents.instances[0]
    doc = yaml.safe_load(files[f"{agent.name}/etc/agent.yaml"])
    assert (doc["name"], doc["sip"]["address"], doc["pipeline"]) == (agent.name, agent.host, topo.agents.pipeline)
    assert doc["dependencies"] == [d.model_dump(mode="json") for d in topo.agents.dependencies]
    alerts = yaml.safe_load(files["shared/prometheus/voxops-alerts.yml"])
    assert [r["alert"] for g in alerts["groups"] for r in g["rules"]] == [
        r["alert"] for g in yaml.safe_load(baseline["shared/prometheus/voxops-alerts.yml"])["groups"] for r in g["rules"]]
    check_relay_readback(topo, files)
    unit = files[f"{agent.name}/etc/voxops-agent-{agent.name}.service"]
    assert f"Description=voxops voice agent {agent.name}\n" in unit


def check_relay_readback(topo: Topology, files: dict[str, str]) -> None:
    """The relay's config holds exactly the spec's media values, one key each."""
    media = topo.sbc.media
    assert media is not None
    for node in topo.sbc.nodes:
        keys = [ln.split(" = ", 1) for ln in _lines(files[f"{node.name}/etc/rtpengine.conf"]) if " = " in ln]
        conf = dict(keys)
        assert len(conf) == len(keys), keys
        public, private = media.addresses(node.name, node.address)
        assert conf["interface"] == f"public/{public};private/{private}"
        assert (conf["port-min"], conf["port-max"]) == (str(media.port_min), str(media.port_max))
        assert conf.get("recording-dir") == (media.recording.dir if media.recording.enabled else None)
        cfg = files[f"{node.name}/etc/kamailio.cfg"]
        flags = re.findall(r'rtpengine_offer\("\$var\(media_dirs\) ([^"]*)"\)', cfg)
        assert flags and set(flags) == {" ".join(["replace-origin replace-session-connection ICE=remove",
                                                   *(f"codec-transcode-{c}" for c in media.transcode),
                                                   *(["record-call=on"] if media.recording.enabled else [])])}


def _variant(base: dict[str, Any], certs: dict[str, str], field: str, wrapper: str, payload: str) -> dict[str, Any]:
    data = copy.deepcopy(base)
    _set(data, field, wrapper.replace("{certs}", str(Path(certs["ca"]).parent)).replace("{p}", payload))
    return data


def _files_exist(topo: Topology, certs: dict[str, str]) -> bool:
    """An accepted certificate path must name a file for `kamailio -c`: copy the real one
    there. False when it cannot be a file name (a component longer than 255 bytes)."""
    tls = topo.sbc.tls
    assert tls is not None
    for path, real in ((tls.certificate, certs["certificate"]), (tls.key, certs["key"]), (tls.ca, certs["ca"])):
        if path and Path(path).parent == Path(real).parent:
            try:
                if not Path(path).exists():
                    shutil.copy(real, path)
            except OSError:
                return False
    return True


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_every_field_with_every_payload(field: str, certs, tmp_path: Path) -> None:
    need_tool("kamailio")
    need_tool("rtpengine")
    base = full_spec(certs)
    baseline = _render(load_topology_text(yaml.safe_dump(base)), tmp_path / "baseline")
    kamailio_base = {k: hashlib.sha256(v.encode()).hexdigest() for k, v in baseline.items() if k.endswith(KAMAILIO_SIDE)}
    accepted = refused = 0
    for wrapper in FIELDS[field]:
        for name, payload in PAYLOADS.items():
            data = _variant(base, certs, field, wrapper, payload)
            out = tmp_path / f"r{accepted}"
            try:  # refused by the spec's types, or by the renderer's cross-checks
                topo = load_topology_text(yaml.safe_dump(data))
                files = _render(topo, out)
            except InvalidInput as exc:
                refused += 1
                assert not re.search(r"[\r\n\x00\x85\u2028\u2029]", str(exc)), (name, str(exc))
                assert len(str(exc)) < 400, (name, str(exc))
                continue
            accepted += 1
            checkable = _files_exist(topo, certs)
            check_readback(topo, files, baseline)
            changed = {k for k, v in files.items() if k.endswith(KAMAILIO_SIDE)
                       and kamailio_base.get(k) != hashlib.sha256(v.encode()).hexdigest()}
            node = topo.sbc.nodes[0].name
            if checkable and (any(k.startswith(f"{node}/") for k in changed)
                              or f"{node}/etc/kamailio.cfg" not in kamailio_base):
                check_kamailio_files(out, node, files)
                check_rtpengine_file(out, node, files)
                shutil.rmtree(out)
    assert refused, "every payload accepted: the corpus does not test this field"
    print(f"{field}: {refused} refused, {accepted} accepted and read back")


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_a_password_is_refused_or_reads_back(name: str, certs, tmp_path: Path) -> None:
    need_tool("kamailio")
    topo = load_topology_text(yaml.safe_dump(full_spec(certs)))
    payload = PAYLOADS[name]
    try:
        files = _render(topo, tmp_path / "out", password=payload)
    except InvalidInput as exc:
        assert "\n" not in str(exc) and payload not in str(exc) or len(payload) < 2
        return
    line = _lines(files["sbc-1/etc/credentials.cfg"])
    assert line == [f'modparam("uac", "credential", "acme:carrier-a.test:{payload}")']
    check_kamailio_files(tmp_path / "out", "sbc-1", files)


def _hostile(tmp_path: Path, certs: dict[str, str], field: str, value: str) -> Path:
    data = full_spec(certs)
    _set(data, field, value)
    return write_spec(data, tmp_path / "topology.yaml")


@pytest.mark.parametrize(("field", "value"), [
    ("carriers.0.trunks.0.credentials.realm", f"fe80::1%{EXEC_SO}"),
    ("carriers.1.trunks.0.hosts.0.address", f"fe80::1%{EXTRA_CARRIER}"),
], ids=["credentials-exec-so", "dispatcher-extra-carrier"])
def test_zone_id_injection_is_refused(cli, certs, tmp_path: Path, monkeypatch, field: str, value: str) -> None:
    """A zone id once carried a whole Kamailio config block (loading exec.so and running a
    shell command at start-up) or a carrier line with full weight into the rendered files."""
    need_tool("kamailio")
    monkeypatch.setenv("PW", PASSWORD)
    spec = _hostile(tmp_path, certs, field, value)
    code, _, err = cli("validate", spec)
    assert code == 2, err
    code, _, err = cli("render", spec, "-o", tmp_path / "out", "--check")
    assert code == 2, err
    assert [ln for ln in err.splitlines() if ln.startswith("voxops: error:")] == [err.splitlines()[0]]
    assert "zone id" in err
    rendered = [p.read_text() for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert not any("exec.so" in t or "203.0.113.66" in t for t in rendered)


def test_the_unmodified_spec_is_valid_and_renders(certs, tmp_path: Path) -> None:
    """The sweep above refuses because of the payload, not because the base spec is broken."""
    topo = load_topology_text(yaml.safe_dump(full_spec(certs)))
    files = _render(topo, tmp_path / "out")
    check_readback(topo, files, files)
