"""The same templates through Ansible's template module and through `voxops render`: same bytes."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tests.conftest import REPO, need_tool
from tests.render.specs import make_certs, tls_spec, write_spec
from voxops.render.engine import plan, render_all, resolve_secrets
from voxops.spec.loader import load_topology

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  connection: local
  vars_files: [{jobs}]
  tasks:
    - ansible.builtin.template:
        src: "{templates}/{{{{ item.template }}}}"
        dest: "{out}/{{{{ item.dest }}}}"
        mode: "0640"
      loop: "{{{{ jobs }}}}"
      vars:
        topo: "{{{{ item.vars.topo }}}}"
        node: "{{{{ item.vars.node | default(None) }}}}"
        agent: "{{{{ item.vars.agent | default(None) }}}}"
        trunk: "{{{{ item.vars.trunk | default(None) }}}}"
        nodes: "{{{{ item.vars.nodes | default(None) }}}}"
        secrets: "{{{{ item.vars.secrets | default(None) }}}}"
"""


def test_ansible_template_module_writes_the_same_bytes(tmp_path: Path, monkeypatch) -> None:
    import ansible_runner

    need_tool("openssl")
    monkeypatch.setenv("VOXOPS_TEST_TRUNK_PASSWORD", "s3cret-pw")
    certs = make_certs(tmp_path / "certs")
    data = tls_spec(certs, mutual=True)  # TLS, mTLS and carrier credentials
    data["sbc"]["ivr_fallback"] = {"agent": "agent-2"}
    data["agents"]["dependencies"] = [{"name": "asr", "kind": "asr", "url": "https://asr.test/health"}]
    path = write_spec(data, tmp_path / "spec.yaml")
    topo, _ = load_topology(path)
    jobs = plan(topo, "/srv/voxops", resolve_secrets(topo, path.parent))
    render_all(jobs, tmp_path / "voxops")
    # one file per template (and the IVR agent's config): each module run is slow
    picked: dict[str, dict] = {}
    for j in jobs:
        key = "ivr" if j.dest == "agent-2/etc/agent.yaml" else j.template
        picked.setdefault(key, j.model_dump(mode="json"))
    all_jobs = list(picked.values())
    templates_used = {j["template"] for j in all_jobs}
    assert len(templates_used) == 8 and len(all_jobs) == 9  # every template in the tree takes part
    for j in all_jobs:
        (tmp_path / "ansible" / j["dest"]).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "jobs.json").write_text(json.dumps({"jobs": all_jobs}))
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "runner").mkdir()
    (project / "render.yml").write_text(PLAYBOOK.format(jobs=tmp_path / "jobs.json", templates=REPO / "templates",
                                                         out=tmp_path / "ansible"))
    r = ansible_runner.run(
        private_data_dir=str(tmp_path / "runner"), project_dir=str(project), playbook="render.yml", quiet=True,
        envvars={"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "ANSIBLE_PIPELINING": "1"},
    )
    assert r.rc == 0, r.stdout.read()
    for j in all_jobs:
        a = (tmp_path / "ansible" / j["dest"]).read_bytes()
        assert a == (tmp_path / "voxops" / j["dest"]).read_bytes(), j["dest"]
