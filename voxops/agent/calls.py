"""pjsua2 call objects: one media port per call moving frames to and from its session.

pjsua2 rules followed here (pjproject docs, "PJSUA2 and Python"): every SIP callback
arrives on the one thread that polls `libHandleEvents()`; media-port callbacks arrive on
the conference thread and only touch the session; Call and port objects are kept in the
agent's table and released on the SIP thread inside the call's DISCONNECTED callback,
never later (the slot may be reused) and never by the garbage collector elsewhere.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Protocol

import pjsua2 as pj

from voxops.agent.conversation import ConversationMeter
from voxops.agent.log import log, log_exception
from voxops.agent.pipeline import Session


class CallOwner(Protocol):
    """What calls need of the agent that owns them (the SIP thread's side of it)."""

    ports: PortPool

    def on_incoming(self, account: Any, call_id: int) -> None: ...
    def on_confirmed(self, call: AgentCall) -> None: ...
    def on_disconnected(self, call: AgentCall, code: int) -> None: ...
    def on_dtmf(self, call: AgentCall, digit: str, method: str) -> None: ...


def guarded(method: Callable[..., None]) -> Callable[..., None]:
    """pjsua2 callbacks: an exception must never unwind into pjsua's C++ (it would abort)."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any) -> None:
        try:
            method(self, *args)
        except Exception:  # noqa: BLE001
            log_exception(f"error in {method.__name__}:")

    return wrapper


class CallMode(StrEnum):
    pipeline = "pipeline"
    ivr = "ivr"
    rejected = "rejected"


class FramePort(pj.AudioMediaPort):  # type: ignore[misc]
    """The bridge port of one call: caller frames in, session frames out."""

    def __init__(self, session: Session, meter: ConversationMeter | None = None) -> None:
        super().__init__()
        self.session: Session | None = session
        self.meter = meter
        self.errors = 0

    def onFrameReceived(self, frame: Any) -> None:  # noqa: N802 - pjsua2 API
        session = self.session
        if session is None or frame.type != pj.PJMEDIA_FRAME_TYPE_AUDIO or not frame.size:
            return
        pcm = bytes(frame.buf)
        try:
            session.on_audio(pcm)
            if self.meter is not None:
                self.meter.on_caller(pcm, time.monotonic())
        except Exception as exc:  # noqa: BLE001 - an exception must not unwind into C++
            self._report(exc)

    def onFrameRequested(self, frame: Any) -> None:  # noqa: N802 - pjsua2 API
        session = self.session
        data = None
        if session is not None:
            try:
                data = session.next_audio()
            except Exception as exc:  # noqa: BLE001
                self._report(exc)
            meter = self.meter
            if meter is not None:
                try:
                    meter.on_bot(data or None, time.monotonic())
                except Exception as exc:  # noqa: BLE001
                    self._report(exc)
        if data:
            frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
            frame.buf = pj.ByteVector(data)
            frame.size = len(data)
        else:
            frame.type = pj.PJMEDIA_FRAME_TYPE_NONE
            frame.size = 0

    def _report(self, exc: Exception) -> None:
        self.errors += 1
        if self.errors <= 3:
            log(f"pipeline error: {type(exc).__name__}: {exc}")


class PortPool:
    """Bridge ports are reused, never destroyed while the agent runs.

    The conference thread may still be inside a port's callback (conference operations
    are applied asynchronously) when a call ends; destroying the port then means a
    callback into a half-deleted Python object (seen under load as AttributeError and an
    aborted process). A released port waits COOLDOWN_S before serving the next call.
    """

    COOLDOWN_S = 1.0

    def __init__(self, clock_rate: int) -> None:
        self._clock_rate = clock_rate
        self._free: collections.deque[tuple[float, FramePort]] = collections.deque()
        self.ports: list[FramePort] = []

    def take(self, session: Session, meter: ConversationMeter | None = None) -> FramePort:
        if self._free and time.monotonic() - self._free[0][0] >= self.COOLDOWN_S:
            port = self._free.popleft()[1]
            port.session, port.meter = session, meter
            return port
        port = FramePort(session, meter)
        fmt = pj.MediaFormatAudio()
        fmt.init(pj.PJMEDIA_FORMAT_PCM, self._clock_rate, 1, 20000, 16)
        port.createPort(f"voxops-{len(self.ports)}", fmt)
        self.ports.append(port)
        return port

    def give(self, port: FramePort) -> None:
        port.session = None
        port.meter = None
        self._free.append((time.monotonic(), port))

    def close(self) -> None:
        """Before libDestroy, once no call is connected to any port."""
        for port in self.ports:
            port.session = None
            port.meter = None
        self._free.clear()
        self.ports.clear()


class AgentCall(pj.Call):  # type: ignore[misc]
    def __init__(self, agent: CallOwner, account: pj.Account, call_id: int) -> None:
        super().__init__(account, call_id)
        self.agent = agent
        self.mode = CallMode.rejected
        self.session: Session | None = None
        self.meter: ConversationMeter | None = None
        self.context: Any = None
        self.port: FramePort | None = None
        self.sip_call_id = ""
        self.remote_uri = ""
        self.codec = ""
        self.received_at = time.monotonic()
        self.confirmed = False
        self.ended = False
        self.on_hold = False
        self.rx_packets = 0
        self.last_rx_at: float | None = None

    # --- pjsua2 callbacks (SIP thread) ------------------------------------------------

    @guarded
    def onCallState(self, prm: Any) -> None:  # noqa: N802
        info = self.getInfo()
        if info.state == pj.PJSIP_INV_STATE_CONFIRMED and not self.confirmed:
            self.confirmed = True
            self.agent.on_confirmed(self)
        elif info.state == pj.PJSIP_INV_STATE_DISCONNECTED and not self.ended:
            self.ended = True
            self.agent.on_disconnected(self, info.lastStatusCode)

    @guarded
    def onCallMediaState(self, prm: Any) -> None:  # noqa: N802
        if self.session is None or self.ended:
            return
        info = self.getInfo()
        for index, media in enumerate(info.media):
            if media.type != pj.PJMEDIA_TYPE_AUDIO:
                continue
            self.on_hold = media.status in (pj.PJSUA_CALL_MEDIA_REMOTE_HOLD, pj.PJSUA_CALL_MEDIA_LOCAL_HOLD)
            if media.status not in (pj.PJSUA_CALL_MEDIA_ACTIVE, pj.PJSUA_CALL_MEDIA_REMOTE_HOLD):
                continue
            audio = self.getAudioMedia(index)
            if self.port is None:
                self.port = self.agent.ports.take(self.session, self.meter)
            # re-INVITEs (hold, resume, codec change) may give a new stream: (re)connect
            audio.startTransmit(self.port)
            self.port.startTransmit(audio)
            with contextlib.suppress(pj.Error):
                self.codec = self.getStreamInfo(index).codecName

    @guarded
    def onDtmfDigit(self, prm: Any) -> None:  # noqa: N802
        method = "info" if prm.method == pj.PJSUA_DTMF_METHOD_SIP_INFO else "rfc2833"
        self.agent.on_dtmf(self, str(prm.digit), method)

    def onDtmfEvent(self, prm: Any) -> None:  # noqa: N802
        # pjsua calls onDtmfEvent (with duration) and onDtmfDigit for the same digit; the
        # digit callback is enough, this override only stops the default from logging.
        pass

    # --- actions (SIP thread) ---------------------------------------------------------

    def respond(self, code: int, reason: str = "", headers: dict[str, str] | None = None) -> None:
        op = pj.CallOpParam()
        op.statusCode = code
        if reason:
            op.reason = reason
        for name, value in (headers or {}).items():
            header = pj.SipHeader()
            header.hName, header.hValue = name, value
            op.txOption.headers.append(header)
        if code >= 300:
            self.hangup(op)
        else:
            self.answer(op)

    def end(self, reason: str = "") -> None:
        """Hang up (BYE when confirmed, a final response otherwise), with a Reason header
        (RFC 3326) when there is one to give."""
        if self.ended:
            return
        op = pj.CallOpParam()
        if reason:
            header = pj.SipHeader()
            text = "".join(ch for ch in reason if ch.isprintable() and ch not in '"\\')[:120]
            header.hName, header.hValue = "Reason", f'Q.850;cause=16;text="{text}"'
            op.txOption.headers.append(header)
        with contextlib.suppress(pj.Error):
            self.hangup(op)

    def release(self, pool: PortPool) -> None:
        """Close the session and hand the port back to the pool (on the SIP thread)."""
        if self.port is not None:
            pool.give(self.port)
        if self.session is not None:
            try:
                self.session.close()
            except Exception as exc:  # noqa: BLE001 - user pipeline code
                log(f"pipeline close failed: {exc}")
        self.session = None
        self.port = None

    def stream_stats(self) -> tuple[float, float, float] | None:
        """(loss ratio, jitter seconds, one-way delay ms) of the received stream, or None."""
        try:
            stat = self.getStreamStat(0)
        except pj.Error:
            return None
        rx = stat.rtcp.rxStat
        self.rx_packets = int(rx.pkt)
        total = rx.pkt + rx.loss
        if total == 0:
            return None
        loss = rx.loss / total
        jitter = rx.jitterUsec.mean / 1e6 if rx.jitterUsec.n else 0.0
        rtt_ms = stat.rtcp.rttUsec.mean / 1000.0 if stat.rtcp.rttUsec.n else 0.0
        delay_ms = rtt_ms / 2 + float(stat.jbuf.avgDelayMsec)
        return loss, jitter, delay_ms


class AgentAccount(pj.Account):  # type: ignore[misc]
    """The local account every incoming INVITE arrives on (no registration)."""

    def __init__(self, agent: CallOwner) -> None:
        super().__init__()
        self.agent = agent

    @guarded
    def onIncomingCall(self, prm: Any) -> None:  # noqa: N802
        self.agent.on_incoming(self, prm.callId)
