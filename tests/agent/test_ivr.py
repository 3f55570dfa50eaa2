"""Degraded agent: a dependency goes down, readiness flips, calls go to the IVR whose
callback request (DTMF by RFC 2833 or SIP INFO) is in SQLite afterwards."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.agent.peers import AgentProc, RtpPeer, responses, sipp, start_agent
from tests.agent.scenarios import caller, ivr_caller
from tests.conftest import free_port, need_module, need_tool

pytestmark = pytest.mark.slow


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def asr() -> Iterator[ThreadingHTTPServer]:
    """A stand-in ASR service: any HTTP answer means up."""
    server = ThreadingHTTPServer(("127.0.6.20", free_port("127.0.6.20")), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def agent(tmp_path: Path, asr: ThreadingHTTPServer) -> Iterator[AgentProc]:
    need_tool("sipp")
    need_module("pjsua2")
    host, port = asr.server_address[:2]
    dep = {"name": "asr", "kind": "asr", "url": f"http://{host}:{port}/health", "timeout_s": 0.5}
    proc = start_agent(tmp_path, "127.0.6.21", dependencies=[dep])
    try:
        yield proc
    finally:
        proc.stop()


def _rows(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT number, reason, caller FROM callback_requests").fetchall()


def _take_down(agent: AgentProc, asr: ThreadingHTTPServer) -> None:
    assert agent.readyz()[0] == 200
    asr.shutdown()
    asr.server_close()
    agent.wait_for(lambda: agent.readyz()[0] == 503, what="readiness 503")
    code, body = agent.readyz()
    assert any(r.startswith("dependency down: asr") for r in body["reasons"]), body


def test_dependency_down_sends_call_to_ivr_and_rfc2833_callback_is_stored(
    tmp_path: Path, agent: AgentProc, asr: ThreadingHTTPServer, cli
) -> None:
    _take_down(agent, asr)
    peer = RtpPeer("127.0.6.22", free_port("127.0.6.22"))
    try:
        run = sipp(tmp_path, ivr_caller(tmp_path / "ivr.xml"), agent, "127.0.6.22", keys={"rtpport": str(peer.port)})
        peer.wait_remote()
        peer.pump(0.5)
        peer.send_digits("5551234#")
        peer.pump(2.0)  # the confirmation plays, then the agent hangs up
        messages = run.wait()
    finally:
        peer.close()
    assert run.proc.returncode == 0, messages[-2000:]
    assert responses(messages, 200) == 1  # answered by the IVR ...
    assert "BYE sip:" in messages  # ... which hung up itself once the request was stored
    rows = _rows(agent.db)
    assert [r[0] for r in rows] == ["5551234"]
    assert "asr" in rows[0][1] and "caller@" in rows[0][2]
    assert agent.metric('voxops_agent_calls_total{result="ivr"}') == 1
    assert agent.metric('voxops_agent_calls_total{result="answered"}') == 0
    assert agent.metric("voxops_agent_ivr_callbacks_total") == 1
    code, out, _ = cli("agent", "callbacks", "--db", str(agent.db), "--format", "json")
    assert code == 0 and '"number": "5551234"' in out


def test_sip_info_dtmf_reaches_the_ivr(tmp_path: Path, agent: AgentProc, asr: ThreadingHTTPServer) -> None:
    _take_down(agent, asr)
    run = sipp(tmp_path, ivr_caller(tmp_path / "ivr-info.xml", info_digits="0801#"), agent, "127.0.6.23")
    messages = run.wait()
    assert run.proc.returncode == 0, messages[-2000:]
    assert [r[0] for r in _rows(agent.db)] == ["0801"]
    assert agent.metric('voxops_agent_dtmf_total{method="info"}') == 5


def test_dependency_back_up_restores_pipeline(tmp_path: Path, agent: AgentProc, asr: ThreadingHTTPServer) -> None:
    host, port = asr.server_address[:2]
    _take_down(agent, asr)
    revived = ThreadingHTTPServer((str(host), int(port)), _Ok)
    threading.Thread(target=revived.serve_forever, daemon=True).start()
    try:
        agent.wait_for(lambda: agent.readyz()[0] == 200, what="readiness back to 200")
        run = sipp(tmp_path, caller(tmp_path / "caller.xml"), agent, "127.0.6.24", hold_ms=300)
        assert responses(run.wait(), 200) == 1
        assert agent.metric('voxops_agent_calls_total{result="answered"}') == 1
        assert _rows(agent.db) == []
    finally:
        revived.shutdown()
        revived.server_close()
