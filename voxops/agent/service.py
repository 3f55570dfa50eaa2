"""The agent process: admission, call table, the SIP thread's loop, graceful drain.

One thread (the one that called `Agent.run`) owns pjsua2: it polls `libHandleEvents`,
answers or refuses INVITEs, ticks the IVR, samples RTCP, and releases Call objects
(inside their DISCONNECTED callback: see `_forget`). Other threads (health server, dependency probes, media callbacks) never call pjsua2;
they hand work to this thread through `_requests`.
"""

from __future__ import annotations

import collections
import functools
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from voxops.agent.admission import decide
from voxops.agent.config import AgentConfig
from voxops.agent.conversation import ConversationMeter
from voxops.agent.health import (
    AgentState,
    DependencyWatcher,
    HealthServer,
    Readiness,
    ResourceSampler,
)
from voxops.agent.ivr import CallbackStore, IvrAudio, IvrSession
from voxops.agent.log import log
from voxops.agent.metrics import AgentMetrics
from voxops.agent.pipeline import CallContext, Session, load_pipeline
from voxops.agent.records import CallRecords
from voxops.analysis.emodel import codec_impairment, estimate_mos

POLL_MS = 10
STATS_INTERVAL_S = 1.0
# Every INVITE pjsua gives a call slot has already cost an RTP and an RTCP socket, and
# pjlib frees a closed socket's ioqueue key only 500 ms later, out of 64 keys in all
# (select ioqueue): a peer churning short calls exhausts them and pjlib aborts the
# process. Past SETUP_BUDGET set-ups within SETUP_WINDOW_S, an INVITE keeps its slot
# unanswered for SETUP_WINDOW_S and is then refused 503: while the slots are held
# pjsua refuses further INVITEs itself (486) without opening any socket.
SETUP_WINDOW_S = 0.6
SETUP_BUDGET = 20


class Agent:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.metrics = AgentMetrics()
        self.metrics.capacity.set(config.max_calls)
        self.metrics.calls_active.set(0)
        self.metrics.draining.set(0)
        for result in ("answered", "rejected", "failed", "ivr"):
            self.metrics.calls_total.inc(0, result=result)
        self.state = AgentState()
        self.pipeline = load_pipeline(config, self.metrics)
        self.ivr_audio = IvrAudio(config.ivr, config.clock_rate) if config.ivr.enabled else None
        self.store = CallbackStore(Path(config.ivr.db)) if config.ivr.enabled else None
        self.deps = DependencyWatcher(config, self.metrics)
        self.resources = ResourceSampler()
        self.readiness = Readiness(config, self.state, self.deps, self.resources, self.overloaded)
        self.records = CallRecords()
        self.health = HealthServer(config, self.readiness, self.metrics, self.records)
        self.calls: dict[int, Any] = {}
        # (kind, SIP Call-ID, reason) from other threads: "hangup" or "ivr"
        self._requests: collections.deque[tuple[str, str, str]] = collections.deque(maxlen=10_000)
        self._by_sip_id: dict[str, Any] = {}
        self._to_answer: list[tuple[float, Any]] = []
        self._to_shed: list[tuple[float, Any]] = []
        self._setups: collections.deque[float] = collections.deque()
        self._drain_requested = threading.Event()
        self._latency_ewma = 0.0
        self.ep: Any = None
        self._log_sink: Any = None
        self.ports: Any = None
        self.account: Any = None

    # --- health -----------------------------------------------------------------------

    def overloaded(self) -> bool:
        limit = self.config.pipeline_overload_latency_s
        if limit is not None and self._latency_ewma > limit:
            return True
        try:
            return bool(self.pipeline.overloaded())
        except Exception:  # noqa: BLE001 - a broken pipeline is an overloaded one
            return True

    def _report_latency(self, seconds: float) -> None:
        self.metrics.pipeline_latency.observe(seconds)
        self._latency_ewma += (seconds - self._latency_ewma) / 50

    def degraded(self) -> list[str]:
        reasons = [f"dependency down: {d}" for d in self.deps.down()]
        if self.overloaded():
            reasons.append("pipeline overloaded")
        return reasons

    # --- call events (SIP thread) -------------------------------------------------------

    def on_incoming(self, account: Any, call_id: int) -> None:
        from voxops.agent.calls import AgentCall, CallMode

        call = AgentCall(self, account, call_id)
        self.calls[call_id] = call
        info = call.getInfo()
        call.sip_call_id, call.remote_uri = info.callIdString, info.remoteUri
        if self._setup_flood(call.received_at):
            self._to_shed.append((call.received_at + SETUP_WINDOW_S, call))
            return
        verdict = decide(
            self.config, active=self.state.active_calls, draining=self.state.draining, degraded=self.degraded()
        )
        if verdict.mode == "reject":
            headers = {"Retry-After": "30"} if verdict.code == 503 else None
            call.respond(verdict.code, verdict.reason, headers)
            self.metrics.calls_total.inc(result="rejected")
            self.metrics.rejected_total.inc(code=str(verdict.code))
            return
        context = CallContext(
            call_id=call.sip_call_id,
            remote_uri=call.remote_uri,
            clock_rate=self.config.clock_rate,
            samples_per_frame=self.config.clock_rate // 50,
            hangup=functools.partial(self._request, "hangup", call.sip_call_id),
            report_latency=self._report_latency,
            to_ivr=functools.partial(self._request, "ivr", call.sip_call_id),
        )
        call.context = context
        session: Session
        if verdict.mode == "ivr":
            session = self._ivr_session(context, verdict.reason)
            call.mode = CallMode.ivr
        else:
            try:
                session = self.pipeline.open(context)
            except Exception as exc:  # noqa: BLE001 - user code: refuse this call, keep serving
                log(f"pipeline open failed: {type(exc).__name__}: {exc}")
                call.respond(500, "Pipeline Error")
                self.metrics.calls_total.inc(result="failed")
                return
            call.mode = CallMode.pipeline
        call.session = session
        call.meter = ConversationMeter(self.metrics, self.config.dead_air_s)
        self._by_sip_id[call.sip_call_id] = call
        self._set_active(self.state.active_calls + 1)
        call.respond(180)
        if self.config.ring_ms:
            self._to_answer.append((time.monotonic() + self.config.ring_ms / 1000, call))
        else:
            self._answer(call)

    def _ivr_session(self, context: CallContext, reason: str) -> Session:
        assert self.store is not None and self.ivr_audio is not None
        return IvrSession(
            context,
            self.config.ivr,
            self.ivr_audio,
            self.store,
            agent=self.config.name,
            reason=reason,
            on_stored=self.metrics.ivr_callbacks_total.inc,
        )

    def _request(self, kind: str, sip_id: str, reason: str = "") -> None:
        """From any thread: ask the SIP thread to hang a call up or hand it to the IVR."""
        self._requests.append((kind, sip_id, reason))

    def _divert(self, call: Any, reason: str) -> None:
        """The pipeline gave up on a call: the IVR takes it over (or it is hung up)."""
        if self.store is None or call.mode != "pipeline" or call.context is None:
            call.end(reason)
            return
        from voxops.agent.calls import CallMode

        old, call.session = call.session, self._ivr_session(call.context, reason)
        call.mode = CallMode.ivr
        if call.port is not None:
            call.port.session = call.session
        log(f"call {call.sip_call_id}: handed to the IVR: {reason}")
        if old is not None:
            self._guard(old.close, call)

    def _setup_flood(self, now: float) -> bool:
        """Whether this set-up is one too many for the sockets pjlib can still open."""
        while self._setups and self._setups[0] <= now - SETUP_WINDOW_S:
            self._setups.popleft()
        if len(self._setups) >= SETUP_BUDGET:
            return True
        self._setups.append(now)
        return False

    def _shed(self, call: Any) -> None:
        if call.ended:  # CANCELled meanwhile: pjsua already answered 487
            return
        call.respond(503, "Overloaded", {"Retry-After": "1"})
        self.metrics.calls_total.inc(result="rejected")
        self.metrics.rejected_total.inc(code="503")

    def _answer(self, call: Any) -> None:
        if call.ended:  # CANCELled while ringing: pjsua already answered 487
            return
        call.respond(200)
        self.metrics.setup_seconds.observe(time.monotonic() - call.received_at)

    def _count_stack_busy(self) -> None:
        self.metrics.calls_total.inc(result="rejected")
        self.metrics.rejected_total.inc(code="486")

    def on_confirmed(self, call: Any) -> None:
        self.metrics.calls_total.inc(result="ivr" if call.mode == "ivr" else "answered")

    def on_disconnected(self, call: Any, code: int) -> None:
        if call.meter is not None:
            self.records.add(call, code, call.meter.close(time.monotonic()))
        if call.mode != "rejected":
            self._set_active(self.state.active_calls - 1)
            if not call.confirmed:
                self.metrics.calls_total.inc(result="failed")
        self._forget(call)

    def on_dtmf(self, call: Any, digit: str, method: str) -> None:
        self.metrics.dtmf_total.inc(method=method)
        if call.session is not None:
            call.session.on_dtmf(digit)

    def _set_active(self, n: int) -> None:
        self.state.active_calls = max(0, n)
        self.metrics.calls_active.set(self.state.active_calls)

    # --- the loop ---------------------------------------------------------------------

    def request_drain(self, *_: Any) -> None:
        self._drain_requested.set()

    def run(self, *, install_signals: bool = True, ready_file: Path | None = None) -> int:
        from voxops.agent.calls import AgentAccount, PortPool
        from voxops.agent.endpoint import LogSink, create_account, create_endpoint

        # kept referenced for the endpoint's whole life: pjsua calls it from any thread
        self._log_sink = LogSink(self.config.log_level, self._count_stack_busy)
        self.ep = create_endpoint(self.config, self._log_sink)
        self.ports = PortPool(self.config.clock_rate)
        try:
            self.account = AgentAccount(self)
            create_account(self.ep, self.config, self.account)
            if install_signals:
                signal.signal(signal.SIGTERM, self._on_signal)
                signal.signal(signal.SIGINT, self._on_signal)
            self.deps.check_once()
            self.deps.start()
            self.resources.start()
            self.health.start()
            print(
                f"voxops agent {self.config.name}: SIP on {self.config.sip.address}:{self.config.sip.port} "
                f"({', '.join(t.value for t in self.config.sip.transports)}), health on "
                f"http://{self.config.health.address}:{self.config.health.port}, "
                f"capacity {self.config.max_calls}, pipeline {self.config.pipeline}",
                file=sys.stderr,
                flush=True,
            )
            if ready_file is not None:
                ready_file.write_text("ready\n")
            self._loop()
        finally:
            self._shutdown()
        return 0

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._drain_requested.set()

    def _loop(self) -> None:
        next_stats = time.monotonic() + STATS_INTERVAL_S
        drain_deadline: float | None = None
        # No Call object may stay referenced from this frame (a loop variable would keep
        # it alive past its DISCONNECTED callback: see _forget), so per-call work happens
        # in helper methods whose frames end each iteration.
        while True:
            self.ep.libHandleEvents(POLL_MS)
            now = time.monotonic()
            self._run_requests(now)
            if now >= next_stats:
                self._sample_stats()
                next_stats = now + STATS_INTERVAL_S
            if self._drain_requested.is_set() and drain_deadline is None:
                drain_deadline = now + self.config.drain_timeout_s
                self.state.draining = True
                self.metrics.draining.set(1)
                self.metrics.ready.set(0)
                log(f"draining: {self.state.active_calls} call(s) up, waiting up to {self.config.drain_timeout_s}s",
                    flush=True)
            if drain_deadline is not None and (not self.calls or now >= drain_deadline):
                if self.calls:
                    log(f"drain timeout: hanging up {len(self.calls)} call(s)")
                return

    def _run_requests(self, now: float) -> None:
        while self._requests:
            kind, sip_id, reason = self._requests.popleft()
            call = self._by_sip_id.get(sip_id)
            if call is None or call.ended:
                continue
            if kind == "ivr":
                self._guard(functools.partial(self._divert, call, reason), call)
            else:
                call.end(reason)
        for call in list(self._by_sip_id.values()):
            tick = getattr(call.session, "tick", None)
            if tick is not None and call.confirmed and not call.ended:
                self._guard(tick, call)
        while self._to_answer and self._to_answer[0][0] <= now:
            call = self._to_answer.pop(0)[1]
            self._guard(functools.partial(self._answer, call), call)
        while self._to_shed and self._to_shed[0][0] <= now:
            call = self._to_shed.pop(0)[1]
            self._guard(functools.partial(self._shed, call), call)

    def _guard(self, action: Any, call: Any) -> None:
        """One call's failure (a full disk under the IVR, a vanished dialog) ends that call,
        not the agent."""
        try:
            action()
        except Exception as exc:  # noqa: BLE001
            log(f"call {call.sip_call_id}: {type(exc).__name__}: {exc}")
            call.end()

    def _forget(self, call: Any) -> None:
        """Drop every reference to an ended call inside its DISCONNECTED callback.

        The Call's C++ destructor then runs when the callback returns, the pattern pjsua2
        documents (`delete this` in onCallState). Any later is wrong: pjsua reuses the slot
        for the next INVITE (round robin over 4 slots), and ~Call() clears the user data
        of, and hangs up, whatever call then holds it (seen under load as stray BYEs, 486s
        and calls the agent no longer tracks, when a loop variable kept one alive).
        """
        self._to_answer = [(due, c) for due, c in self._to_answer if c is not call]
        self._to_shed = [(due, c) for due, c in self._to_shed if c is not call]
        self.metrics.rtp_received_total.inc(call.rx_packets)
        call.release(self.ports)
        for key, value in list(self.calls.items()):
            if value is call:
                del self.calls[key]
        self._by_sip_id.pop(call.sip_call_id, None)
        for gauge in (self.metrics.rtcp_loss, self.metrics.rtcp_jitter, self.metrics.mos):
            gauge.remove(call=call.sip_call_id)

    def _sample_stats(self) -> None:
        now = time.monotonic()
        for call in list(self._by_sip_id.values()):
            if not call.confirmed or call.ended:
                continue
            seen = call.rx_packets
            stats = call.stream_stats()
            if call.rx_packets != seen or call.on_hold or call.last_rx_at is None:
                call.last_rx_at = now
            elif self.config.media_timeout_s and now - call.last_rx_at > self.config.media_timeout_s:
                # a caller that vanished without BYE would hold a slot (of only 4) forever
                log(f"no RTP for {self.config.media_timeout_s}s: hanging up {call.sip_call_id}")
                self.metrics.media_timeouts_total.inc()
                call.end()
                continue
            if stats is None:
                continue
            loss, jitter, delay_ms = stats
            impairment = codec_impairment(call.codec or "PCMU")
            self.metrics.rtcp_loss.set(loss, call=call.sip_call_id)
            self.metrics.rtcp_jitter.set(jitter, call=call.sip_call_id)
            if impairment is not None:  # no MOS for a codec without Ie/Bpl
                mos = estimate_mos(impairment, loss * 100, delay_ms=delay_ms)
                self.metrics.mos.set(mos.mos, call=call.sip_call_id)

    def _shutdown(self) -> None:
        self.health.stop()
        self.deps.stop()
        self.resources.stop()
        if self.ep is not None:
            for call in list(self.calls.values()):
                call.end()
            deadline = time.monotonic() + 2.0
            while self.calls and time.monotonic() < deadline:
                self.ep.libHandleEvents(POLL_MS)
            for call in list(self.calls.values()):  # never answered a BYE: release anyway
                call.release(self.ports)
            self.calls.clear()
            self._by_sip_id.clear()
            for _ in range(10):  # let the conference thread apply the last disconnections
                self.ep.libHandleEvents(POLL_MS)
            self.ports.close()
            if self.account is not None:
                self.account.shutdown()
                self.account = None
            self.ep.libDestroy()
            self.ep = None
        try:
            self.pipeline.close()
        finally:
            if self.store is not None:
                self.store.close()
