"""Readiness, dependency checks and the HTTP server for /livez, /readyz and /metrics.

Everything here runs on plain Python threads that never touch pjsua2: the SIP thread
publishes the numbers (active calls, draining) and these threads only read them.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from voxops.agent.config import AgentConfig, DependencyConfig
from voxops.agent.metrics import AgentMetrics
from voxops.agent.records import CallRecords
from voxops.errors import EnvironmentProblem


def probe(dep: DependencyConfig) -> str | None:
    """None when the dependency answers, else why not.

    http(s): any HTTP response below 500 counts (the service is up, even if the probe
    path wants auth); tcp/tls/ws(s)/udp: a TCP connection to host:port (UDP services
    are expected to have a TCP health listener on the same port).
    """
    parts = urlsplit(dep.url)
    if parts.scheme in ("http", "https"):
        try:
            with urllib.request.urlopen(dep.url, timeout=dep.timeout_s) as resp:  # noqa: S310
                status = resp.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            return f"{dep.name}: {reason}"
        return None if status < 500 else f"{dep.name}: HTTP {status}"
    default_port = {"tls": 443, "wss": 443, "ws": 80}.get(parts.scheme, 0)
    host, port = parts.hostname or "", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=dep.timeout_s):
            return None
    except OSError as exc:
        return f"{dep.name}: {exc.strerror or exc}"


class DependencyWatcher(threading.Thread):
    """Probes every dependency every `interval` seconds; `down()` is the latest verdict."""

    def __init__(self, config: AgentConfig, metrics: AgentMetrics) -> None:
        super().__init__(name="voxops-deps", daemon=True)
        self._deps = config.all_dependencies()
        self._interval = config.dependency_check_interval_s
        self._metrics = metrics
        self._down: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.checked = threading.Event()

    def run(self) -> None:
        while not self._stop.is_set():
            self.check_once()
            self._stop.wait(self._interval)

    def check_once(self) -> None:
        verdicts = {dep.name: probe(dep) for dep in self._deps}
        with self._lock:
            self._down = {name: why for name, why in verdicts.items() if why is not None}
        for dep in self._deps:
            self._metrics.dependency_up.set(
                0 if verdicts[dep.name] else 1, dependency=dep.name, kind=dep.kind.value
            )
        self.checked.set()

    def down(self) -> list[str]:
        with self._lock:
            return sorted(self._down.values())

    def stop(self) -> None:
        self._stop.set()


class ResourceSampler(threading.Thread):
    """Host CPU and memory percentages, sampled once a second (psutil)."""

    def __init__(self) -> None:
        super().__init__(name="voxops-resources", daemon=True)
        import psutil

        self._psutil = psutil
        self.cpu_percent = 0.0
        self.memory_percent = float(psutil.virtual_memory().percent)
        self._stop = threading.Event()
        psutil.cpu_percent(interval=None)

    def run(self) -> None:
        while not self._stop.wait(1.0):
            self.cpu_percent = float(self._psutil.cpu_percent(interval=None))
            self.memory_percent = float(self._psutil.virtual_memory().percent)

    def stop(self) -> None:
        self._stop.set()


@dataclass
class AgentState:
    """Numbers the SIP thread publishes for the health threads (plain attribute writes)."""

    active_calls: int = 0
    draining: bool = False
    started: float = field(default_factory=time.time)


@dataclass
class Readiness:
    config: AgentConfig
    state: AgentState
    deps: DependencyWatcher
    resources: ResourceSampler
    pipeline_overloaded: Callable[[], bool]

    def reasons(self) -> list[str]:
        """Why the agent cannot take a call right now (empty when ready)."""
        why: list[str] = []
        if self.state.draining:
            why.append("draining: shutting down")
        if self.state.active_calls >= self.config.max_calls:
            why.append(f"at capacity: {self.state.active_calls}/{self.config.max_calls} calls")
        cpu, mem = self.resources.cpu_percent, self.resources.memory_percent
        if cpu >= self.config.health.max_cpu_percent:
            why.append(f"cpu {cpu:.0f}% >= {self.config.health.max_cpu_percent:g}%")
        if mem >= self.config.health.max_memory_percent:
            why.append(f"memory {mem:.0f}% >= {self.config.health.max_memory_percent:g}%")
        why += [f"dependency down: {d}" for d in self.deps.down()]
        if self.pipeline_overloaded():
            why.append("pipeline overloaded")
        return why

    def snapshot(self) -> dict[str, object]:
        reasons = self.reasons()
        return {
            "ready": not reasons,
            "reasons": reasons,
            "agent": self.config.name,
            "active_calls": self.state.active_calls,
            "max_calls": self.config.max_calls,
            "cpu_percent": round(self.resources.cpu_percent, 1),
            "memory_percent": round(self.resources.memory_percent, 1),
            "draining": self.state.draining,
        }


class HealthServer:
    """/livez, /readyz (JSON, 200 or 503), /calls (recent call records) and /metrics on the health address and port."""

    def __init__(
        self, config: AgentConfig, readiness: Readiness, metrics: AgentMetrics, records: CallRecords | None = None
    ) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                path = self.path.split("?", 1)[0]
                if path == "/livez":
                    outer._send(self, 200, "application/json", {"alive": True, "agent": config.name})
                elif path == "/readyz":
                    snap = readiness.snapshot()
                    metrics.ready.set(1 if snap["ready"] else 0)
                    outer._send(self, 200 if snap["ready"] else 503, "application/json", snap)
                elif path == "/calls" and records is not None:
                    outer._send(self, 200, "application/json", {"agent": config.name, "calls": records.snapshot()})
                elif path == "/metrics":
                    body = metrics.render().encode()
                    outer._reply(self, 200, "text/plain; version=0.0.4; charset=utf-8", body)
                else:
                    outer._send(self, 404, "application/json", {"error": "not found"})

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        try:
            self._server = ThreadingHTTPServer((config.health.address, config.health.port), Handler)
        except OSError as exc:
            raise EnvironmentProblem(
                f"cannot listen on {config.health.address}:{config.health.port} for health: {exc.strerror}"
            ) from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="voxops-health", daemon=True)

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, code: int, ctype: str, body: bytes) -> None:
        handler.send_response(code)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _send(self, handler: BaseHTTPRequestHandler, code: int, ctype: str, data: object) -> None:
        self._reply(handler, code, ctype, (json.dumps(data) + "\n").encode())

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
