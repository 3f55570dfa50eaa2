"""Rendering: every variant passes `kamailio -c`, output is deterministic and matches the golden files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.conftest import REPO, need_tool
from tests.support.pki import make_certs
from tests.support.specs import spec, tls_spec, write_spec
from voxops.deploy.validation import check_kamailio
from voxops.errors import InvalidInput, SpecError
from voxops.ops.render import render_spec
from voxops.render.engine import plan, render_all, resolve_secrets
from voxops.spec.loader import load_topology

GOLDEN = REPO / "tests" / "data" / "render" / "golden-local"
GOLDEN_PREFIX = "/opt/voxops"


def _render(spec_path: Path, out: Path, prefix: str | None = None) -> list[Path]:
    report = render_spec(spec_path, out, prefix=prefix)
    return [Path(f.path) for f in report.files]


def _variants(tmp_path: Path) -> dict[str, Path]:
    certs = make_certs(tmp_path / "certs")
    three = spec()
    three["carriers"].append({"name": "carrier-c", "trunks": [{"name": "carrier-c-main", "weight": 20, "priority": 1,
                                                               "hosts": [{"address": "127.0.5.13"}, {"address": "127.0.5.14"}]}]})
    one = spec()
    one["carriers"] = one["carriers"][:1]
    ivr = spec()
    ivr["sbc"]["ivr_fallback"] = {"uri": "sip:ivr@127.0.5.30:5080"}
    ivr["sbc"]["admission"] = {"max_concurrent_calls": 10, "max_cps": 2.5}
    specs = {"tls": tls_spec(certs, mutual=False), "mtls": tls_spec(certs, mutual=True), "ivr": ivr,
             "one-carrier": one, "three-carriers": three}
    out = {name: write_spec(data, tmp_path / f"{name}.yaml") for name, data in specs.items()}
    out["local-example"] = REPO / "voxops" / "data" / "inventories" / "local"
    out["production-example"] = REPO / "voxops" / "data" / "inventories" / "production"
    return out


def test_every_rendered_kamailio_config_passes_kamailio_check(tmp_path: Path, monkeypatch) -> None:
    need_tool("kamailio")
    need_tool("rtpengine")
    need_tool("openssl")
    monkeypatch.setenv("VOXOPS_TEST_TRUNK_PASSWORD", "s3cret-pw")
    monkeypatch.setenv("CARRIER_A_PASSWORD", "s3cret-pw")
    checked = 0
    for name, path in _variants(tmp_path).items():
        report = render_spec(path, tmp_path / "out" / name, check=True)
        assert report.checks, name
        for c in report.checks:
            assert c.ok, f"{name}: {c.detail}"
            checked += 1
    assert checked == 18  # two nodes in each of seven specs, and the two relays of the production and local examples


def test_variants_say_what_the_spec_says(tmp_path: Path, monkeypatch) -> None:
    need_tool("openssl")
    monkeypatch.setenv("VOXOPS_TEST_TRUNK_PASSWORD", "s3cret-pw")
    paths = _variants(tmp_path)
    _render(paths["mtls"], tmp_path / "mtls")
    tls = (tmp_path / "mtls" / "sbc-1" / "etc" / "tls.cfg").read_text()
    assert "method = TLSv1.2+" in tls and "require_certificate = yes" in tls and "verify_certificate = yes" in tls
    disp = (tmp_path / "mtls" / "sbc-1" / "etc" / "dispatcher.list").read_text()
    # the TLS-only carrier is reached through the TLS socket, never a plain one
    assert "sip:127.0.5.11:5061;transport=tls 0 0 rweight=60;trunk=carrier-a-main;socket=tls:127.0.5.5:5061" in disp
    cfg = (tmp_path / "mtls" / "sbc-1" / "etc" / "kamailio.cfg").read_text()
    assert '$si == "127.0.5.11" && $proto != "tls"' in cfg
    creds = tmp_path / "mtls" / "sbc-1" / "etc" / "credentials.cfg"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600 and "acme:127.0.5.11:s3cret-pw" in creds.read_text()
    assert "s3cret-pw" not in cfg  # the secret stays in its 0600 file
    _render(paths["three-carriers"], tmp_path / "three")
    disp3 = (tmp_path / "three" / "sbc-1" / "etc" / "dispatcher.list").read_text()
    assert "1 sip:127.0.5.13:5060 0 1 rweight=10;trunk=carrier-c-main" in disp3  # weight 20 split over two hosts
    _render(paths["ivr"], tmp_path / "ivr")
    ivr_cfg = (tmp_path / "ivr" / "sbc-1" / "etc" / "kamailio.cfg").read_text()
    assert '$ru = "sip:ivr@127.0.5.30:5080";' in ivr_cfg and 'pl_check("cps", "TAILDROP", 3)' in ivr_cfg
    plain = (tmp_path / "three" / "sbc-1" / "etc" / "kamailio.cfg").read_text()
    assert "route(TO_IVR)" not in plain.split("route[TO_IVR]")[0]  # no IVR in the spec: over capacity is 486


def test_render_is_deterministic_and_matches_golden_files(tmp_path: Path) -> None:
    local = REPO / "voxops" / "data" / "inventories" / "local"
    first = _render(local, tmp_path / "a", prefix=GOLDEN_PREFIX)
    _render(local, tmp_path / "b", prefix=GOLDEN_PREFIX)
    rel = sorted(str(p.relative_to(tmp_path / "a")) for p in first)
    for r in rel:
        assert (tmp_path / "a" / r).read_bytes() == (tmp_path / "b" / r).read_bytes(), r
    if os.environ.get("VOXOPS_UPDATE_GOLDEN") == "1":
        for r in rel:
            (GOLDEN / r).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / r).write_bytes((tmp_path / "a" / r).read_bytes())
    golden = sorted(str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*") if p.is_file())
    assert golden == rel
    for r in rel:
        assert (tmp_path / "a" / r).read_bytes() == (GOLDEN / r).read_bytes(), f"{r} differs from its golden file"


def test_rendered_files_are_not_world_readable(tmp_path: Path) -> None:
    for p in _render(REPO / "voxops" / "data" / "inventories" / "local", tmp_path):
        assert stat.S_IMODE(p.stat().st_mode) & 0o007 == 0, p


def test_kamailio_check_catches_a_broken_config(tmp_path: Path) -> None:
    need_tool("kamailio")
    _render(REPO / "voxops" / "data" / "inventories" / "local", tmp_path)
    cfg = tmp_path / "sbc-1" / "etc" / "kamailio.cfg"
    cfg.write_text(cfg.read_text().replace("dlg_manage();", "dlg_manage_typo();"))
    assert not check_kamailio(cfg).ok


def test_missing_or_unsafe_secret_is_refused(tmp_path: Path, monkeypatch) -> None:
    topo, _ = load_topology(REPO / "voxops" / "data" / "inventories" / "production")
    monkeypatch.delenv("CARRIER_A_PASSWORD", raising=False)
    with pytest.raises(InvalidInput, match="CARRIER_A_PASSWORD"):
        resolve_secrets(topo, tmp_path)
    for bad in ['pw"x', "pw\nmodparam", "pw;x", "a:b"]:
        with pytest.raises(SpecError):
            resolve_secrets(topo, tmp_path, env={"CARRIER_A_PASSWORD": bad})
    with pytest.raises(InvalidInput):
        plan(topo, str(tmp_path))  # secrets unresolved: nothing is rendered


def test_node_without_a_listener_for_a_trunk_transport_is_refused(tmp_path: Path) -> None:
    data = spec()
    data["carriers"][0]["trunks"][0]["hosts"] = [{"address": "127.0.5.11", "port": 5061, "transport": "tls"}]
    with pytest.raises(SpecError, match="no tls listener"):
        render_all(plan(load_topology(write_spec(data, tmp_path / "s.yaml"))[0], str(tmp_path)), tmp_path)


def test_cli_render_and_check(cli, tmp_path: Path) -> None:
    need_tool("kamailio")
    code, out, err = cli("render", REPO / "voxops" / "data" / "inventories" / "local", "-o", tmp_path, "--check")
    assert code == 0, err
    assert "sbc-1/etc/kamailio.cfg" in out and "ok: kamailio -c" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\n")
    code, _, err = cli("render", bad, "-o", tmp_path / "x")
    assert code == 2


def test_no_plain_listener_on_the_address_facing_a_tls_only_carrier(tmp_path: Path) -> None:
    data = tls_spec({"certificate": "/x.crt", "key": "/x.key", "ca": "/ca.crt"}, mutual=False)
    data["sbc"]["nodes"][0]["listen"].append({"transport": "udp", "port": 5062, "address": "127.0.5.5"})
    del data["carriers"][0]["trunks"][0]["credentials"]
    with pytest.raises(SpecError, match="also listens in the clear"):
        plan(load_topology(write_spec(data, tmp_path / "s.yaml"))[0], str(tmp_path))
