"""Configuration of one voice-agent instance (`voxops agent run --config FILE`).

One YAML file per agent instance, rendered from the topology spec by
`agent_config_for(topology, instance_name)`. Field names are a public interface:
the renderer writes them and alert rules are generated against the metrics they drive.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from voxops.errors import InvalidInput
from voxops.spec.loader import _clean_loc, dotted
from voxops.spec.models import DependencyKind, Topology, WebsocketBot
from voxops.spec.types import Codec, FilePath, IPAddress, Name, Percent, Port, Transport, Url
from voxops.spec.yamlpos import load_file

# Codecs the pjsua2-python wheel is built with (pjmedia codec factories present in it).
# Anything else in `allow` is ignored at start-up with a warning.
SUPPORTED_CODECS = ("PCMU", "PCMA", "G722", "SPEEX", "ILBC", "GSM", "L16")

PIPELINE_PATTERN = r"^(echo|prompt|websocket|[A-Za-z_][\w.]*:[A-Za-z_]\w*)$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgentTls(_Model):
    """TLS listener (opt-in): the wheel bundles OpenSSL 1.0.2k, so carrier TLS ends at the SBC."""

    port: Port = 5061
    certificate: FilePath
    key: FilePath
    ca: FilePath | None = None


class SipConfig(_Model):
    address: IPAddress = "127.0.0.1"
    port: Port = 5070
    transports: Annotated[list[Transport], Field(min_length=1)] = Field(
        default_factory=lambda: [Transport.udp, Transport.tcp]
    )
    tls: AgentTls | None = None
    session_timers: bool = Field(
        default=True, description="Honour RFC 4028 session timers when the caller offers them."
    )
    session_expires_s: Annotated[int, Field(ge=90, le=86400)] = 1800
    user_agent: Annotated[str, Field(pattern=r"^[A-Za-z0-9 ._/()-]{1,64}$")] = "voxops-agent"

    @model_validator(mode="after")
    def _tls(self) -> SipConfig:
        if Transport.tls in self.transports and self.tls is None:
            raise ValueError("transport tls needs a tls section (certificate, key)")
        if len(set(self.transports)) != len(self.transports):
            raise ValueError("transports are listed more than once")
        return self


class RtpConfig(_Model):
    """RTP ports: the first port tried and how many after it (0 = no upper bound)."""

    port: Port = 40000
    port_range: Annotated[int, Field(ge=0, le=65535)] = 0


class HealthConfig(_Model):
    address: IPAddress = "127.0.0.1"
    port: Port = 8080
    max_cpu_percent: Percent = 90.0
    max_memory_percent: Percent = 90.0


class CodecConfig(_Model):
    """Codecs offered and accepted, in offer order; a codec outside `allow` is never used."""

    allow: Annotated[list[Codec], Field(min_length=1)] = Field(
        default_factory=lambda: ["PCMU", "PCMA", "G722"]
    )
    prefer: list[Codec] = Field(default_factory=lambda: ["PCMU"])

    @model_validator(mode="after")
    def _prefer_in_allow(self) -> CodecConfig:
        stray = [c for c in self.prefer if c not in self.allow]
        if stray:
            raise ValueError(f"preferred codec(s) not in allow: {', '.join(stray)}")
        return self

    def offer_order(self) -> list[str]:
        """Preferred codecs first (in their order), then the rest of `allow`."""
        return list(dict.fromkeys([*self.prefer, *self.allow]))


class DependencyConfig(_Model):
    """A downstream service (ASR, LLM, TTS) that must answer for the agent to be ready."""

    name: Name
    kind: DependencyKind = DependencyKind.other
    url: Url
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 2.0


class IvrConfig(_Model):
    """Overflow IVR: prompt, collect a callback number by DTMF, store it, hang up."""

    enabled: bool = True
    prompt_wav: FilePath | None = Field(
        default=None, description="Greeting WAV (16-bit mono PCM); a tone is synthesised if unset."
    )
    db: FilePath = "voxops-callbacks.sqlite3"
    max_digits: Annotated[int, Field(ge=1, le=32)] = 15
    min_digits: Annotated[int, Field(ge=1, le=32)] = 3
    digit_timeout_s: Annotated[float, Field(gt=0, le=60)] = 5.0
    max_duration_s: Annotated[float, Field(gt=0, le=600)] = 60.0


class AgentConfig(_Model):
    """Everything one `voxops agent run` process needs."""

    name: Name = "agent"
    sip: SipConfig = Field(default_factory=SipConfig)
    rtp: RtpConfig = Field(default_factory=RtpConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    max_calls: Annotated[int, Field(ge=1, le=1000)] = 4
    codecs: CodecConfig = Field(default_factory=CodecConfig)
    pipeline: Annotated[str, Field(pattern=PIPELINE_PATTERN)] = "echo"
    websocket: WebsocketBot | None = Field(
        default=None, description="The bot the websocket pipeline bridges calls to."
    )
    ring_ms: Annotated[int, Field(ge=0, le=60_000)] = Field(
        default=0, description="Time between 180 Ringing and 200 OK (0 answers at once)."
    )
    echo_delay_ms: Annotated[int, Field(ge=0, le=5000)] = 200
    greeting_wav: FilePath | None = Field(
        default=None, description="What the prompt pipeline plays (16-bit mono PCM WAV at clock_rate)."
    )
    record_dir: FilePath | None = Field(
        default=None, description="Where the prompt pipeline writes caller recordings (WAV)."
    )
    clock_rate: Literal[8000, 16000] = 8000
    pipeline_overload_latency_s: Annotated[float, Field(gt=0, le=60)] | None = Field(
        default=None,
        description="Send new calls to the IVR while the pipeline's recent latency exceeds this.",
    )
    media_timeout_s: Annotated[int, Field(ge=0, le=3600)] = Field(
        default=60, description="Hang up a call that received no RTP for this long (0: never; not while on hold)."
    )
    dependencies: list[DependencyConfig] = Field(default_factory=list)
    dependency_check_interval_s: Annotated[float, Field(gt=0, le=300)] = 2.0
    ivr: IvrConfig = Field(default_factory=IvrConfig)
    drain_timeout_s: Annotated[int, Field(ge=0, le=3600)] = 30
    log_level: Annotated[int, Field(ge=0, le=6)] = 1
    dead_air_s: Annotated[float, Field(gt=0, le=600)] = Field(
        default=5.0, description="Both sides silent this long while the call is up counts as dead air."
    )

    @model_validator(mode="after")
    def _ports(self) -> AgentConfig:
        if self.sip.address == self.health.address and self.sip.port == self.health.port:
            raise ValueError("sip and health cannot share one address and port")
        if self.pipeline == "websocket" and self.websocket is None:
            raise ValueError("pipeline websocket needs a websocket section (url)")
        return self

    def all_dependencies(self) -> list[DependencyConfig]:
        """The configured dependencies and, for the websocket pipeline, the bot endpoint."""
        if self.pipeline != "websocket" or self.websocket is None:
            return list(self.dependencies)
        bot = DependencyConfig(name="bot", kind=DependencyKind.other, url=self.websocket.url,
                               timeout_s=min(self.websocket.connect_timeout_s, 60.0))
        return [*self.dependencies, bot]


def agent_config_for(topology: Topology, instance_name: str) -> AgentConfig:
    """The config of one agent process of the topology's pool (an instance or one of its workers)."""
    from voxops.spec.capacity import all_workers

    pool = topology.agents
    workers = all_workers(topology)
    instance = next((w for w in workers if w.name == instance_name), None)
    if instance is None:
        known = ", ".join(w.name for w in workers)
        raise InvalidInput(f"no agent instance {instance_name!r} in the spec (known: {known})")
    policy = topology.sbc.codec_policy
    return AgentConfig(
        name=instance.name,
        sip=SipConfig(address=instance.host, port=instance.sip_port),
        health=HealthConfig(
            address=instance.host,
            port=instance.health_port,
            max_cpu_percent=pool.health.max_cpu_percent,
            max_memory_percent=pool.health.max_memory_percent,
        ),
        max_calls=instance.max_calls,
        # deny is implied: only allowed codecs are ever enabled
        codecs=CodecConfig(allow=list(policy.allow), prefer=list(policy.prefer)),
        pipeline=pool.pipeline,
        websocket=pool.websocket,
        dead_air_s=topology.slo.dead_air_s,
        dependencies=[
            DependencyConfig(name=d.name, kind=d.kind, url=d.url, timeout_s=d.timeout_s)
            for d in pool.dependencies
        ],
        ivr=IvrConfig(db=f"/var/lib/voxops/{instance.name}/callbacks.sqlite3"),
        drain_timeout_s=pool.drain_timeout_s,
    )


def load_agent_config(path: Path) -> AgentConfig:
    """Read an agent config YAML; every problem becomes `file:line:col: dotted.path: message`."""
    located = load_file(path)
    if not isinstance(located.data, dict):
        raise InvalidInput(f"{located.where(())}: expected a mapping of agent config keys")
    try:
        return AgentConfig.model_validate(located.data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = _clean_loc(err["loc"], located.data)
            msg = str(err["msg"]).removeprefix("Value error, ")
            problems.append(f"{located.where(loc)}: {dotted(loc)}: {msg}")
        more = f" (+{len(problems) - 1} more: {'; '.join(problems[1:])})" if len(problems) > 1 else ""
        raise InvalidInput(problems[0] + more) from None


def dump_agent_config(config: AgentConfig) -> str:
    """The YAML form the renderer writes (and `load_agent_config` reads back)."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
