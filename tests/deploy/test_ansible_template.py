"""The same templates through Ansible's template module and through `voxops render`: same bytes."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import need_tool
from tests.support.pki import make_certs
from tests.support.specs import tls_spec, write_spec
from voxops.deploy.runner import ansible_render
from voxops.render.engine import RenderJob, plan, render_all, resolve_secrets
from voxops.spec.loader import load_topology


def test_ansible_template_module_writes_the_same_bytes(tmp_path: Path, monkeypatch) -> None:
    need_tool("openssl")
    monkeypatch.setenv("VOXOPS_TEST_TRUNK_PASSWORD", "s3cret-pw")
    certs = make_certs(tmp_path / "certs")
    data = tls_spec(certs, mutual=True)  # TLS, mTLS and carrier credentials
    data["sbc"]["ivr_fallback"] = {"agent": "agent-2"}
    data["carriers"][1]["trunks"][0]["limits"] = {"channels": 5, "cps": 2}
    data["sbc"]["admission"] = {"max_concurrent_calls": 10, "max_cps": 3}
    data["agents"]["dependencies"] = [{"name": "asr", "kind": "asr", "url": "https://asr.test/health"}]
    path = write_spec(data, tmp_path / "spec.yaml")
    topo, _ = load_topology(path)
    jobs = plan(topo, "/srv/voxops", resolve_secrets(topo, path.parent))
    render_all(jobs, tmp_path / "voxops")
    # one file per template (and the IVR agent's config): each module run is slow
    picked: dict[str, RenderJob] = {}
    for j in jobs:
        picked.setdefault("ivr" if j.dest == "agent-2/etc/agent.yaml" else j.template, j)
    templates_used = {j.template for j in picked.values()}
    assert len(templates_used) == 8 and len(picked) == 9  # every template in the tree takes part
    assert ansible_render(list(picked.values()), tmp_path / "ansible") == 0
    for j in picked.values():
        assert (tmp_path / "ansible" / j.dest).read_bytes() == (tmp_path / "voxops" / j.dest).read_bytes(), j.dest
