"""Every rendered agent config is one the agent service accepts (AgentConfig)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import REPO
from tests.support.specs import spec, write_spec
from voxops.agent.config import agent_config_for, load_agent_config
from voxops.ops.render import render_spec
from voxops.spec.loader import load_topology


def test_every_rendered_agent_config_validates(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CARRIER_A_PASSWORD", "pw")
    ivr = spec()
    ivr["sbc"]["ivr_fallback"] = {"agent": "agent-2"}
    ivr["agents"]["dependencies"] = [{"name": "llm", "kind": "llm", "url": "https://llm.test/health", "timeout_s": 1.5}]
    specs = [REPO / "voxops" / "data" / "inventories" / "local", REPO / "voxops" / "data" / "inventories" / "production", write_spec(ivr, tmp_path / "ivr.yaml")]
    checked = 0
    for i, path in enumerate(specs):
        topo, _ = load_topology(path)
        out = tmp_path / f"out{i}"
        render_spec(path, out)
        for inst in topo.agents.instances:
            cfg = load_agent_config(out / inst.name / "etc" / "agent.yaml")
            want = agent_config_for(topo, inst.name)
            # the same agent as the service derives from the spec, except where the
            # deploy layout decides (the IVR database lives under the prefix)
            assert cfg.model_dump(exclude={"ivr", "sip"}) == want.model_dump(exclude={"ivr", "sip"})
            assert (cfg.sip.address, cfg.sip.port) == (want.sip.address, want.sip.port)
            assert cfg.ivr.enabled == (topo.sbc.ivr_fallback is not None and topo.sbc.ivr_fallback.agent == inst.name)
            assert cfg.ivr.db.startswith(str(out))
            checked += 1
    assert checked == 2 + 4 + 2
