"""Real peers for the agent tests: the agent process, SIPp, and a small RTP endpoint.

SIPp 3.6.1 sends the RTP of every call from one port and cannot check what comes back,
so media is sent and checked by `RtpPeer`: the scenario's SDP points at its socket.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import free_port


@dataclass
class AgentProc:
    proc: subprocess.Popen[bytes]
    address: str
    sip_port: int
    health_port: int
    log: Path
    db: Path

    def get(self, path: str) -> tuple[int, str]:
        url = f"http://{self.address}:{self.health_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=3) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def readyz(self) -> tuple[int, dict[str, Any]]:
        code, body = self.get("/readyz")
        return code, json.loads(body)

    def metric(self, name: str) -> float | None:
        _, text = self.get("/metrics")
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{") and line.split(" ")[0] == name:
                return float(line.rsplit(" ", 1)[1])
        return None

    def wait_for(self, predicate: Any, timeout: float = 10.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; agent log:\n{self.log.read_text()[-3000:]}")

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            raise AssertionError(f"agent did not exit; log:\n{self.log.read_text()[-3000:]}") from None


def start_agent(tmp_path: Path, address: str, **overrides: Any) -> AgentProc:
    """Run `voxops agent run --config` on loopback with free ports until /livez answers."""
    sip_port = free_port(address)
    health_port = free_port(address, socket.SOCK_STREAM)
    db = tmp_path / "callbacks.sqlite3"
    config: dict[str, Any] = {
        "name": "agent-test",
        "sip": {"address": address, "port": sip_port},
        "rtp": {"port": random.randrange(20000, 30000, 2), "port_range": 1000},
        # the machine is shared: host CPU says nothing about this agent here
        "health": {"address": address, "port": health_port, "max_cpu_percent": 100, "max_memory_percent": 100},
        "max_calls": 4,
        "ivr": {"db": str(db), "digit_timeout_s": 3},
        "dependency_check_interval_s": 0.5,
        "drain_timeout_s": 20,
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    cfg_path = tmp_path / "agent.yaml"
    cfg_path.write_text(yaml.safe_dump(config))
    log = tmp_path / "agent.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "voxops", "agent", "run", "--config", str(cfg_path)],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=env,
        )
    agent = AgentProc(proc, address, sip_port, health_port, log, db)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"agent exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if agent.get("/livez")[0] == 200:
                return agent
        except OSError:
            pass
        time.sleep(0.1)
    agent.stop()
    raise AssertionError(f"agent did not come up:\n{log.read_text()}")


@dataclass
class SippRun:
    proc: subprocess.Popen[bytes]
    messages: Path

    def wait(self, timeout: float = 30.0) -> str:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            raise AssertionError("sipp did not finish") from None
        return self.messages.read_text() if self.messages.exists() else ""


def sipp(
    tmp_path: Path,
    scenario: Path,
    agent: AgentProc,
    local_ip: str,
    *,
    calls: int = 1,
    limit: int | None = None,
    rate: int = 10,
    hold_ms: int = 1000,
    keys: dict[str, str] | None = None,
    tag: str = "sipp",
) -> SippRun:
    """Start SIPp as the caller (UDP, on loopback) in the background."""
    messages = tmp_path / f"{tag}-messages.log"
    argv = [
        "sipp", f"{agent.address}:{agent.sip_port}", "-sf", str(scenario),
        "-i", local_ip, "-p", str(free_port(local_ip)), "-mi", local_ip,
        "-m", str(calls), "-l", str(limit or calls), "-r", str(rate), "-d", str(hold_ms),
        "-nostdin", "-trace_msg", "-message_file", str(messages), "-timeout", "60s", "-timeout_error",
    ]
    merged = {"pt": "0", "codec": "PCMU", "rtpport": str(free_port(local_ip)), **(keys or {})}
    for key, value in merged.items():
        argv += ["-key", key, value]
    proc = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return SippRun(proc, messages)


def sip_messages(log: str) -> list[str]:
    """The messages of a SIPp -trace_msg log, one string each."""
    return [m for m in re.split(r"^-{20,} .*$", log, flags=re.M) if "SIP/2.0" in m]


def responses(messages: str, code: int, method: str = "INVITE") -> int:
    """How many distinct calls got `code` to `method` (retransmissions counted once)."""
    call_ids: set[str] = set()
    for block in sip_messages(messages):
        lines = block.strip().splitlines()
        start = next((i for i, line in enumerate(lines) if line.startswith("SIP/2.0 ")), None)
        if start is None or not lines[start].startswith(f"SIP/2.0 {code} "):
            continue
        headers = {line.split(":", 1)[0].strip().lower(): line.split(":", 1)[1].strip() for line in lines[start + 1 :] if ":" in line}
        if headers.get("cseq", "").endswith(method):
            call_ids.add(headers.get("call-id", ""))
    return len(call_ids)


def ulaw_frame(rng: random.Random) -> bytes:
    # 0x7F and 0xFF are both zero in G.711 mu-law: leave 0x7F out so every byte round-trips
    return bytes(rng.choice([b for b in range(256) if b != 0x7F]) for _ in range(160))


@dataclass
class RtpPeer:
    """The caller's media endpoint: sends PCMU / RFC 2833 and collects what the agent sends."""

    address: str
    port: int
    sock: socket.socket = field(init=False)
    remote: tuple[str, int] | None = None
    received: list[tuple[int, bytes]] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # time.monotonic() of each in `received`
    seq: int = 1000
    ts: int = 0
    ssrc: int = 0x1234ABCD

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.address, self.port))
        self.sock.settimeout(0.005)

    def close(self) -> None:
        self.sock.close()

    def pump(self, seconds: float) -> None:
        """Receive for a while, learning where the agent sends from."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._recv_some()

    def _recv_some(self) -> None:
        try:
            while True:
                data, addr = self.sock.recvfrom(2048)
                if len(data) >= 12 and data[0] >> 6 == 2:
                    self.remote = self.remote or addr
                    self.received.append((data[1] & 0x7F, data[12:]))
                    self.arrivals.append(time.monotonic())
        except (TimeoutError, BlockingIOError):
            pass

    def wait_remote(self, timeout: float = 10.0) -> tuple[str, int]:
        deadline = time.monotonic() + timeout
        while self.remote is None and time.monotonic() < deadline:
            self._recv_some()
        if self.remote is None:
            raise AssertionError("the agent sent no RTP")
        return self.remote

    def _send(self, pt: int, payload: bytes, marker: bool = False, ts_step: int = 160) -> None:
        assert self.remote is not None
        header = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, self.seq & 0xFFFF, self.ts, self.ssrc)
        self.sock.sendto(header + payload, self.remote)
        self.seq += 1
        self.ts += ts_step

    def send_audio(self, frames: list[bytes]) -> None:
        """PCMU frames paced at 20 ms, receiving in between."""
        start = time.monotonic()
        for i, frame in enumerate(frames):
            self._send(0, frame)
            while time.monotonic() < start + (i + 1) * 0.02:
                self._recv_some()

    def send_digits(self, digits: str, pt: int = 101) -> None:
        """RFC 4733 events: 100 ms each (5 packets, the end packet sent three times), 100 ms gaps."""
        codes = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}
        for digit in digits:
            event_ts = self.ts
            for i in range(1, 6):
                end = i == 5
                payload = struct.pack("!BBH", codes[digit], (0x80 if end else 0) | 10, 160 * i)
                for _ in range(3 if end else 1):
                    header = struct.pack("!BBHII", 0x80, (0x80 if i == 1 else 0) | pt, self.seq & 0xFFFF, event_ts, self.ssrc)
                    assert self.remote is not None
                    self.sock.sendto(header + payload, self.remote)
                    self.seq += 1
                self.pump(0.02)
            self.ts = event_ts + 160 * 5
            self.send_audio([b"\xff" * 160] * 5)
