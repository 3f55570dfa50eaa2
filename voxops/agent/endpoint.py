"""Creating the pjsua2 endpoint: threads, media, transports, codec policy, account.

Threading (pjproject docs, "PJSUA2 and Python"): `threadCnt = 0` and `mainThreadOnly =
True`, so every SIP callback runs inside `libHandleEvents()` on the thread that polls it.
No sound card: the null device clocks the conference bridge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pjsua2 as pj

from voxops.agent.config import SUPPORTED_CODECS, AgentConfig
from voxops.agent.log import log, log_lines
from voxops.errors import EnvironmentProblem
from voxops.spec.types import Transport

# PJSUA_MAX_CALLS of the pjsua2-python wheel (2.15.1): 4. pjproject lowered the compile-time
# default from 32 to 4 in 2.11 (pjproject PR #2654) and pjsua_init() silently clamps
# UaConfig.maxCalls to it; measured here: maxCalls 5, 8, 64, 1000 all accept 4 calls and
# pjsua itself answers 486 to the fifth ("Unable to accept incoming call (too many calls)").
PJSUA_MAX_CALLS = 4
TOO_MANY_CALLS = "Unable to accept incoming call (too many calls)"


def warn(message: str) -> None:
    log(f"warning: {message}")


@dataclass
class CodecPlan:
    enabled: list[str]  # pjsua codec ids in offer order
    ignored: list[str]  # allowed names this build does not have


def plan_codecs(config: AgentConfig, available: list[str]) -> CodecPlan:
    """pjsua codec ids to enable, in the policy's offer order; everything else is disabled."""
    enabled: list[str] = []
    ignored: list[str] = []
    for name in config.codecs.offer_order():
        ids = [cid for cid in available if cid.split("/")[0].upper() == name]
        # speex and L16 come in several rates: narrowband first keeps G.711-like behaviour
        ids.sort(key=lambda cid: int(cid.split("/")[1]) if cid.split("/")[1].isdigit() else 0)
        if name == "L16":
            ids = [cid for cid in ids if cid.endswith("/1")]
        if not ids:
            ignored.append(name)
        enabled += ids
    return CodecPlan(enabled=enabled, ignored=ignored)


class LogSink(pj.LogWriter):  # type: ignore[misc]
    """pjsua's log to stderr at the configured level; counts the 486s pjsua sends itself.

    Over PJSUA_MAX_CALLS pjsua refuses an INVITE before the application sees it; its level-2
    log line is the only trace, so it is counted here as a 486.
    """

    def __init__(self, level: int, on_too_many: Callable[[], None]) -> None:
        super().__init__()
        self._level = level
        self._on_too_many = on_too_many

    def write(self, entry: Any) -> None:
        if TOO_MANY_CALLS in entry.msg:
            self._on_too_many()
        if entry.level <= self._level:
            log_lines(entry.msg)


def sip_max_calls(config: AgentConfig) -> int:
    """pjsua's call table, sized to capacity: over it pjsua answers 486 before it opens any
    media socket. Every admitted INVITE costs an RTP/RTCP socket pair whose ioqueue key is
    only recycled 500 ms after close, and the select ioqueue has 64 keys: set-ups much above
    ~50 per second abort the process (ioqueue_select.c assertion), so refusals must stay
    cheap and floods are the SBC's job (pike, ratelimit)."""
    return min(PJSUA_MAX_CALLS, config.max_calls)


def check_capacity(config: AgentConfig) -> None:
    if config.max_calls > PJSUA_MAX_CALLS:
        raise EnvironmentProblem(
            f"max_calls {config.max_calls} is above this pjsua2 build's ceiling of "
            f"{PJSUA_MAX_CALLS} concurrent calls per process (PJSUA_MAX_CALLS)",
            hint="run more agent instances, or rebuild pjsua2 with a larger PJSUA_MAX_CALLS",
        )


def create_endpoint(config: AgentConfig, log_sink: LogSink) -> pj.Endpoint:
    check_capacity(config)
    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.mainThreadOnly = True
    cfg.uaConfig.maxCalls = sip_max_calls(config)
    cfg.uaConfig.userAgent = config.sip.user_agent
    cfg.logConfig.level = max(2, config.log_level)
    cfg.logConfig.consoleLevel = max(2, config.log_level)
    cfg.logConfig.decor = 0
    cfg.logConfig.writer = log_sink
    cfg.medConfig.noVad = True  # silence suppression would look like one-way audio
    cfg.medConfig.clockRate = config.clock_rate
    cfg.medConfig.sndClockRate = config.clock_rate
    cfg.medConfig.channelCount = 1
    cfg.medConfig.audioFramePtime = 20
    cfg.medConfig.ecTailLen = 0  # no echo canceller: the agent has no loudspeaker
    try:
        ep.libInit(cfg)
        _transports(ep, config)
        ep.audDevManager().setNullDev()
        ep.libStart()
    except pj.Error as exc:
        ep.libDestroy()
        raise EnvironmentProblem(f"pjsua2 start failed: {exc.info()}") from None
    _apply_codecs(ep, config)
    return ep


def _transports(ep: pj.Endpoint, config: AgentConfig) -> None:
    kinds = {
        Transport.udp: pj.PJSIP_TRANSPORT_UDP,
        Transport.tcp: pj.PJSIP_TRANSPORT_TCP,
        Transport.tls: pj.PJSIP_TRANSPORT_TLS,
    }
    for transport in config.sip.transports:
        tc = pj.TransportConfig()
        tc.boundAddress = config.sip.address
        tc.publicAddress = config.sip.address
        tc.port = config.sip.port
        if transport is Transport.tls:
            tls = config.sip.tls
            assert tls is not None  # guaranteed by SipConfig's validator
            warn(
                "TLS on the agent uses the OpenSSL 1.0.2k bundled in the pjsua2 wheel; "
                "terminate carrier TLS at the SBC and keep agents on private addresses"
            )
            tc.port = tls.port
            tc.tlsConfig.certFile = tls.certificate
            tc.tlsConfig.privKeyFile = tls.key
            if tls.ca:
                tc.tlsConfig.CaListFile = tls.ca
            tc.tlsConfig.method = pj.PJSIP_TLSV1_2_METHOD
        try:
            ep.transportCreate(kinds[transport], tc)
        except pj.Error as exc:
            raise EnvironmentProblem(
                f"cannot listen on {transport.value}:{config.sip.address}:{tc.port}: {exc.reason}"
            ) from None


def _apply_codecs(ep: pj.Endpoint, config: AgentConfig) -> None:
    available = [c.codecId for c in ep.codecEnum2()]
    plan = plan_codecs(config, available)
    for name in plan.ignored:
        if name in SUPPORTED_CODECS:
            continue
        warn(f"codec {name} is allowed but this pjsua2 build has no {name}: ignored")
    if not plan.enabled:
        raise EnvironmentProblem(
            f"none of the allowed codecs ({', '.join(config.codecs.allow)}) is available "
            f"(this build has {', '.join(sorted({c.split('/')[0] for c in available}))})"
        )
    top = 255
    for cid in available:
        ep.codecSetPriority(cid, 0)  # priority 0 disables: deny by default
    for i, cid in enumerate(plan.enabled):
        ep.codecSetPriority(cid, top - i)


def create_account(ep: pj.Endpoint, config: AgentConfig, account: pj.Account) -> None:
    ac = pj.AccountConfig()
    ac.idUri = f"sip:{config.name}@{config.sip.address}:{config.sip.port}"
    ac.callConfig.timerUse = (
        pj.PJSUA_SIP_TIMER_OPTIONAL if config.sip.session_timers else pj.PJSUA_SIP_TIMER_INACTIVE
    )
    ac.callConfig.timerSessExpiresSec = config.sip.session_expires_s
    ac.callConfig.timerMinSESec = 90
    ac.mediaConfig.transportConfig.port = config.rtp.port
    ac.mediaConfig.transportConfig.portRange = config.rtp.port_range
    ac.mediaConfig.transportConfig.boundAddress = config.sip.address
    ac.mediaConfig.transportConfig.publicAddress = config.sip.address
    account.create(ac, True)
