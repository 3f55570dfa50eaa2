"""TLS is opt-in on the agent: it listens, and says why carrier TLS belongs on the SBC."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.agent.peers import start_agent
from tests.conftest import free_port, need_module, need_tool
from voxops.proc import run

pytestmark = pytest.mark.slow


def test_tls_listener_is_opt_in_with_a_warning(tmp_path: Path) -> None:
    need_module("pjsua2")
    openssl = need_tool("openssl")
    cert, key = tmp_path / "agent.crt", tmp_path / "agent.key"
    run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
         "-days", "2", "-subj", "/CN=agent.test"], timeout=60)
    port = free_port("127.0.6.50", socket.SOCK_STREAM)
    agent = start_agent(
        tmp_path, "127.0.6.50",
        sip={"transports": ["udp", "tls"], "tls": {"port": port, "certificate": str(cert), "key": str(key)}},
    )
    try:
        assert "OpenSSL 1.0.2k" in agent.log.read_text()
        result = run([openssl, "s_client", "-connect", f"127.0.6.50:{port}", "-tls1_2", "-brief"],
                     timeout=20, input=b"", check=False)
        out = (result.stdout + result.stderr).decode(errors="replace")
        assert "CN = agent.test" in out or "CN=agent.test" in out, out
    finally:
        assert agent.stop() == 0
