"""The agent's stderr log shows the wire's text inert: an ESC sequence, a newline or a
bidi control in a Call-ID or a From header is printed as a visible escape."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.agent.peers import start_agent
from tests.conftest import free_port, need_module
from voxops.agent.log import log, log_exception, log_lines

HOSTILE = "\x1b]0;owned\x07\x1b[2J\u202eevil\x9b1m"
RAW = ("\x1b", "\x07", "\u202e", "\x9b")
ADDRESS, PEER = "127.0.13.20", "127.0.13.21"


def assert_inert(text: str) -> None:
    for c in RAW:
        assert c not in text, f"{c!r} reached the log: {text[-500:]!r}"


def test_log_line_escapes_controls_and_newlines(capsys):
    log(f"call {HOSTILE}\nvoxops agent: forged line\rX")
    err = capsys.readouterr().err
    assert_inert(err)
    assert err.count("\n") == 1 and "\r" not in err
    assert "\\x1b]0;owned\\x07" in err and "\\u202e" in err and "\\nvoxops agent: forged" in err


def test_log_lines_keep_line_breaks_only(capsys):
    log_lines(f"RX INVITE\r\nCall-ID: {HOSTILE}\r\nFrom: <sip:a@b>\rvoxops agent: forged\r\n")
    err = capsys.readouterr().err
    assert_inert(err)
    assert err.splitlines() == ["RX INVITE", "Call-ID: \\x1b]0;owned\\x07\\x1b[2J\\u202eevil\\x9b1m",
                                "From: <sip:a@b>\\rvoxops agent: forged"]


def test_exception_text_is_inert(capsys):
    try:
        raise ValueError(f"no such call {HOSTILE}")
    except ValueError:
        log_exception("error in onCallState:")
    err = capsys.readouterr().err
    assert_inert(err)
    assert "ValueError: no such call \\x1b]0;owned" in err


def test_pjsua_log_entries_are_inert(capsys):
    need_module("pjsua2")
    from voxops.agent.endpoint import LogSink

    sink = LogSink(5, lambda: None)
    sink.write(SimpleNamespace(level=4, msg=f"Call-ID: {HOSTILE}\r\n"))
    err = capsys.readouterr().err
    assert_inert(err)
    assert "\\x1b]0;owned" in err


def _invite(port: int, call_id: bytes, from_name: bytes) -> bytes:
    return (
        b"INVITE sip:agent@" + ADDRESS.encode() + b":%d SIP/2.0\r\n" % port
        + b"Via: SIP/2.0/UDP " + PEER.encode() + b":5099;branch=z9hG4bK-hostile1\r\n"
        + b"From: \"" + from_name + b"\" <sip:caller@" + PEER.encode() + b">;tag=h1\r\n"
        + b"To: <sip:agent@" + ADDRESS.encode() + b">\r\n"
        + b"Call-ID: " + call_id + b"\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
        + b"Contact: <sip:caller@" + PEER.encode() + b":5099>\r\nContent-Length: 0\r\n\r\n"
    )


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_agent_logs_a_hostile_call_id_and_from_inert(tmp_path: Path):
    need_module("pjsua2")
    agent = start_agent(tmp_path, ADDRESS, log_level=5)
    try:
        hostile = HOSTILE.encode()
        call_id, from_name = b"cid-" + hostile + b"@x", b"name " + hostile
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((PEER, free_port(PEER)))
            sock.settimeout(5)
            sock.sendto(_invite(agent.sip_port, call_id, from_name), (ADDRESS, agent.sip_port))
            replies = []
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not any(r.startswith(b"SIP/2.0 ") for r in replies):
                try:
                    replies.append(sock.recvfrom(65535)[0])
                except TimeoutError:
                    break
        agent.wait_for(lambda: "cid-\\x1b]0;owned" in agent.log.read_text(errors="replace"),
                       what="the INVITE in the agent's log")
    finally:
        agent.stop()
    text = agent.log.read_bytes().decode("utf-8", errors="replace")
    assert_inert(text)
    assert "name \\x1b]0;owned\\x07\\x1b[2J\\u202eevil\\x9b1m" in text
