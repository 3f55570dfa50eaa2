"""Creating the pjsua2 endpoint: threads, media, transports, codec policy, account.

Threading (pjproject docs, "PJSUA2 and Python"): `threadCnt = 0` and `mainThreadOnly =
True`, so every SIP callback runs inside `libHandleEvents()` on the thread that polls it.
No sound card: the null device clocks the conference bridge.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pjsua2 as pj

from voxops.agent.config import SUPPORTED_CODECS, AgentConfig
from voxops.errors import EnvironmentProblem
from voxops.spec.types import Transport

# PJSUA_MAX_CALLS of the pjsua2-python wheel: pjsua_init() silently clamps maxCalls to it.
# Measured with benchmarks/agent.py --ceiling (calls past it get 486 from pjsua itself).
PJSUA_MAX_CALLS = 32


def warn(message: str) -> None:
    print(f"voxops agent: warning: {message}", file=sys.stderr)


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


def sip_max_calls(config: AgentConfig) -> int:
    """pjsua's own call table: room above capacity so the agent can still answer 486."""
    return min(PJSUA_MAX_CALLS, config.max_calls + max(4, config.max_calls))


def create_endpoint(config: AgentConfig) -> pj.Endpoint:
    if config.max_calls >= PJSUA_MAX_CALLS:
        raise EnvironmentProblem(
            f"max_calls {config.max_calls} is not below this pjsua2 build's ceiling of "
            f"{PJSUA_MAX_CALLS} calls per process (PJSUA_MAX_CALLS), which must also hold the "
            "calls being refused with 486",
            hint="run more agent instances instead",
        )
    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.mainThreadOnly = True
    cfg.uaConfig.maxCalls = sip_max_calls(config)
    cfg.uaConfig.userAgent = config.sip.user_agent
    cfg.logConfig.level = config.log_level
    cfg.logConfig.consoleLevel = config.log_level
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
