"""The watch's loop: sources read through one selector, calls finished on a tick, outputs."""

from __future__ import annotations

import selectors
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from voxops.analysis.policy import Policy
from voxops.errors import EnvironmentProblem
from voxops.watch.engine import Done, Tracker
from voxops.watch.finish import analyse
from voxops.watch.metrics import Metrics

if TYPE_CHECKING:
    from voxops.records.store import RecordStore
    from voxops.watch.output import JsonLines, LiveView
    from voxops.watch.sources import Source

TICK_S = 0.25


@dataclass
class Outputs:
    store: RecordStore | None = None
    jsonl: JsonLines | None = None
    view: LiveView | None = None
    node: str | None = None


@dataclass
class Watch:
    tracker: Tracker
    policy: Policy
    outputs: Outputs
    metrics: Metrics = field(default_factory=Metrics)
    sources: list[Source] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    errors: int = 0

    def __post_init__(self) -> None:
        self.tracker.on_done = self.finished
        self.metrics.follow("packets_total", "kind", self.tracker.counts)
        self.metrics.follow("packets_dropped_total", "reason", self.tracker.dropped)

    def add(self, source: Source) -> None:
        self.sources.append(source)
        errors = getattr(source, "errors", None)
        if errors is not None:
            self.metrics.follow("hep_errors_total", "reason", errors)

    def finished(self, done: Done) -> None:
        try:
            result = analyse(done, self.policy, self.tracker.first_ts, self.outputs.node)
        except Exception as exc:  # noqa: BLE001 - one call's analysis never stops the watch
            self.errors += 1
            self.tracker.dropped["analysis_error"] += 1
            print(f"voxops watch: call {done.state.key} not analysed: {type(exc).__name__}: {exc}",
                  file=sys.stderr)
            return
        self.metrics.call(result)
        out = self.outputs
        for record in result.records:
            if out.jsonl is not None:
                out.jsonl.write(record)
            if out.view is not None:
                out.view.add(record)
        if out.store is not None and result.records:
            try:
                out.store.add(result.records)
            except Exception as exc:  # noqa: BLE001 - a store outage loses records, not the watch
                self.metrics.inc("store_errors_total", len(result.records))
                print(f"voxops watch: call records not stored: {exc}", file=sys.stderr)

    def tick(self) -> None:
        self.tracker.tick()
        self.metrics.gauges["calls_active"] = len(self.tracker.active)
        out = self.outputs
        if out.store is not None and out.store.pending:
            try:
                out.store.commit()
            except Exception as exc:  # noqa: BLE001
                self.metrics.inc("store_errors_total", out.store.pending)
                print(f"voxops watch: call records not stored: {exc}", file=sys.stderr)
        if out.view is not None:
            out.view.draw(len(self.tracker.active), self.tracker.frames, sum(self.tracker.dropped.values()))

    def run(self, duration_s: float | None = None) -> None:
        """Until stopped (signal, `duration_s`, or every source ran dry); then finish every call."""
        sel = selectors.DefaultSelector()
        for s in self.sources:
            s.register(sel)
        handlers = _stop_on_signals(self.stop)
        deadline = None if duration_s is None else time.monotonic() + duration_s
        next_tick = 0.0
        try:
            while not self.stop.is_set():
                for key, _ in sel.select(TICK_S if sel.get_map() else 0):
                    key.data(key.fileobj)
                now = time.monotonic()
                if now >= next_tick:
                    next_tick = now + TICK_S
                    live = [s.poll() for s in self.sources]
                    self.tick()
                    if not any(live) or (deadline is not None and now >= deadline):
                        break
                    if not sel.get_map():
                        time.sleep(TICK_S)
        finally:
            _restore(handlers)
            self.tracker.flush()
            self.tick()
            for s in self.sources:
                s.close()
            sel.close()


def _stop_on_signals(stop: threading.Event) -> dict[int, object]:
    if threading.current_thread() is not threading.main_thread():
        return {}
    old: dict[int, object] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        old[sig] = signal.signal(sig, lambda *_: stop.set())
    return old


def _restore(handlers: dict[int, object]) -> None:
    for sig, handler in handlers.items():
        signal.signal(sig, handler)  # type: ignore[arg-type]


def serve_metrics(metrics: Metrics, host: str, port: int) -> ThreadingHTTPServer:
    """GET /metrics in a daemon thread (Prometheus text format 0.0.4)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            if self.path.split("?", 1)[0] != "/metrics":
                self.send_error(404)
                return
            body = metrics.render().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot serve metrics on {host}:{port}: {exc.strerror}") from exc
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="voxops-watch-metrics", daemon=True).start()
    return server
