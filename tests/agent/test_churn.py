"""One peer churning short calls far faster than the agent can set them up: the agent
sheds the excess (503, or pjsua's own 486) and keeps running."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent.peers import AgentProc, responses, sipp, start_agent
from tests.agent.scenarios import caller
from tests.conftest import need_tool

pytestmark = pytest.mark.slow


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[AgentProc]:
    need_tool("sipp")
    pytest.importorskip("pjsua2")
    proc = start_agent(tmp_path, "127.0.6.50")
    try:
        yield proc
    finally:
        proc.stop()


def test_150_calls_per_second_are_shed_not_fatal(tmp_path: Path, agent: AgentProc) -> None:
    calls = 900
    run = sipp(tmp_path, caller(tmp_path / "caller.xml"), agent, "127.0.6.51", calls=calls, limit=200, rate=150,
               hold_ms=10)
    messages = run.wait(timeout=90)
    assert agent.proc.poll() is None, agent.log.read_text()[-2000:]
    answered, busy, shed = (responses(messages, code) for code in (200, 486, 503))
    assert answered + busy + shed == calls, (answered, busy, shed)
    assert answered > 0 and busy + shed > 0
    assert agent.get("/livez")[0] == 200
    agent.wait_for(lambda: agent.metric("voxops_agent_calls_active") == 0, what="no call left up")
    assert agent.metric('voxops_agent_rejected_total{code="503"}') == shed
