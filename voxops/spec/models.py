"""The topology spec: pydantic v2 models of the whole telephony estate.

Defaults are the reference design's: OPTIONS every 10 s, down after 3 misses, ASR >= 95 %
healthy and alert under 90 % in any 5-minute window, PDD < 2 s, loss < 1 %, MOS >= 3.5,
486 Busy Here over capacity.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from voxops.spec.media import Media
from voxops.spec.types import (
    Codec,
    DnsAnswer,
    DnsName,
    EnvVar,
    FilePath,
    Host,
    IPAddress,
    Name,
    Percent,
    Pipeline,
    PlainFloat,
    Port,
    SipCode,
    SipUri,
    Transport,
    Url,
)


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class OneOf(Model):
    """A model whose fields are alternatives: exactly one must be given."""

    @model_validator(mode="after")
    def _exactly_one(self) -> OneOf:
        fields = list(type(self).model_fields)
        if sum(getattr(self, f) is not None for f in fields) != 1:
            raise ValueError(f"give exactly one of {' or '.join(fields)}")
        return self


# --- carriers and trunks -------------------------------------------------------------


class TrunkHost(Model):
    """One signalling address of a trunk."""

    address: Host
    port: Port = 5060
    transport: Transport = Transport.udp


class OptionsPing(Model):
    """SIP OPTIONS keepalive: a trunk is down after `failure_threshold` misses in a row."""

    enabled: bool = True
    interval_s: Annotated[int, Field(ge=1, le=3600)] = 10
    failure_threshold: Annotated[int, Field(ge=1, le=100)] = 3
    success_threshold: Annotated[int, Field(ge=1, le=100)] = 1
    reply_codes: list[SipCode] = Field(
        default_factory=lambda: [200],
        description="Replies that count as alive (never 408: the proxy makes it itself on timeout).",
    )

    @model_validator(mode="after")
    def _no_408(self) -> OptionsPing:
        if 408 in self.reply_codes:
            raise ValueError("reply_codes must not contain 408 (a local timeout looks like a 408)")
        return self


class TrunkLimits(Model):
    channels: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    cps: Annotated[PlainFloat, Field(gt=0, le=100_000)] | None = None


class SecretRef(OneOf):
    """A secret is referenced, never inlined: an environment variable or a file."""

    env: EnvVar | None = None
    file: FilePath | None = None


class Credentials(Model):
    username: Name
    password: SecretRef
    realm: Host | None = None


class Trunk(Model):
    name: Name
    hosts: Annotated[list[TrunkHost], Field(min_length=1)]
    weight: Annotated[int, Field(ge=1, le=100)] = 50
    priority: Annotated[int, Field(ge=0, le=255)] = 0
    codecs: list[Codec] = Field(default_factory=lambda: ["PCMU", "PCMA"])
    options_ping: OptionsPing = Field(default_factory=OptionsPing)
    limits: TrunkLimits = Field(default_factory=TrunkLimits)
    credentials: Credentials | None = None
    require_tls: bool = False

    @model_validator(mode="after")
    def _tls_hosts(self) -> Trunk:
        if self.require_tls and any(h.transport is not Transport.tls for h in self.hosts):
            raise ValueError("require_tls is set but a host's transport is not tls")
        return self

    @model_validator(mode="after")
    def _realm(self) -> Trunk:
        # the uac module reads `username:realm:password`: a realm cannot hold a ':'
        creds = self.credentials
        realm = creds and (creds.realm or self.hosts[0].address)
        if realm and ":" in realm:
            raise ValueError("credentials.realm cannot be an IPv6 address (uac splits on ':'): set a realm name")
        return self


class Carrier(Model):
    name: Name
    trunks: Annotated[list[Trunk], Field(min_length=1)]


# --- SBC cluster ---------------------------------------------------------------------


class Listen(Model):
    transport: Transport
    port: Port
    address: IPAddress | None = Field(default=None, description="Defaults to the node's address.")
    advertise: Host | None = None


class SbcNode(Model):
    name: Name
    address: IPAddress
    listen: Annotated[list[Listen], Field(min_length=1)] = Field(
        default_factory=lambda: [Listen(transport=Transport.udp, port=5060)]
    )
    metrics_port: Port | None = 9090

    def sockets(self) -> list[tuple[Transport, str, int]]:
        return [(s.transport, s.address or self.address, s.port) for s in self.listen]


class SbcTls(Model):
    certificate: FilePath
    key: FilePath
    ca: FilePath | None = None
    mutual: bool = False
    min_version: Literal["TLSv1.2", "TLSv1.3"] = "TLSv1.2"


class SbcHep(Model):
    """Every SIP message a node sends or receives, mirrored over HEP3 (Kamailio siptrace) to
    a `voxops watch --hep`."""

    address: IPAddress | None = Field(
        default=None, description="Where the watch listens; default: the node's own address (a watch on each node)."
    )
    port: Port = Field(default=9060, description="The watch's HEP port.")
    transport: Literal["udp", "tcp"] = "udp"


class Admission(Model):
    enabled: bool = True
    max_concurrent_calls: Annotated[int, Field(ge=1, le=1_000_000)] = 100
    max_cps: Annotated[PlainFloat, Field(gt=0, le=100_000)] | None = None
    reject_code: Literal[486, 503] = 486


class CodecPolicy(Model):
    allow: list[Codec] = Field(default_factory=lambda: ["PCMU", "PCMA", "G722"])
    deny: list[Codec] = Field(default_factory=lambda: ["G729"])
    prefer: list[Codec] = Field(default_factory=lambda: ["PCMU"])

    @model_validator(mode="after")
    def _consistent(self) -> CodecPolicy:
        both = sorted(set(self.allow) & set(self.deny))
        if both:
            raise ValueError(f"codec(s) both allowed and denied: {', '.join(both)}")
        stray = [c for c in self.prefer if c not in self.allow]
        if stray:
            raise ValueError(f"preferred codec(s) not in allow: {', '.join(stray)}")
        return self


class IvrFallback(OneOf):
    """Where overflow goes when the agent pool is full or unhealthy: a URI or an agent's IVR."""

    uri: SipUri | None = None
    agent: Name | None = Field(default=None, description="An agent instance whose IVR answers.")


class Sbc(Model):
    domain: Host = Field(description="The SIP domain carriers send calls to.")
    srv_name: DnsName | None = Field(
        default=None, description="DNS SRV name of the pair, e.g. _sip._udp.sbc.example.com."
    )
    nodes: Annotated[list[SbcNode], Field(min_length=1)]
    options_ping: OptionsPing = Field(
        default_factory=OptionsPing, description="How `voxops probe` pings the nodes' own sockets."
    )
    tls: SbcTls | None = None
    admission: Admission | None = Field(default_factory=Admission)
    codec_policy: CodecPolicy = Field(default_factory=CodecPolicy)
    ivr_fallback: IvrFallback | None = None
    flood_limit_per_ip: Annotated[int, Field(ge=1, le=100_000)] = 30
    drop_scanner_user_agents: bool = True
    probing_mode: Literal["all", "marked"] = Field(
        default="all",
        description="OPTIONS pings to every trunk host ('all', dispatcher mode 1) or only to trunks "
        "with options_ping.enabled ('marked', mode 3).",
    )
    failover_timeout_ms: Annotated[int, Field(ge=100, le=60_000)] = Field(
        default=3000,
        description="How long a carrier may stay silent (not even 100 Trying) before the call "
        "fails over to the next trunk.",
    )
    media: Media | None = Field(
        default=None, description="The media relay (rtpengine) on every node; without it RTP flows end to end."
    )
    hep: SbcHep | None = Field(
        default=None, description="Mirror SIP to a `voxops watch` over HEP (siptrace); off when absent."
    )


# --- agent pool ----------------------------------------------------------------------


class AgentInstance(Model):
    name: Name
    host: IPAddress
    sip_port: Port = 5070
    health_port: Port = 8080
    max_calls: Annotated[int, Field(ge=1, le=1000)] = 4
    workers: Annotated[int, Field(ge=1, le=64)] = Field(
        default=1,
        description="Agent processes on this host, worker k on sip_port + k and health_port + k.",
    )

    @model_validator(mode="after")
    def _worker_ports(self) -> AgentInstance:
        if max(self.sip_port, self.health_port) + self.workers - 1 > 65535:
            raise ValueError(f"{self.workers} workers need ports up to sip_port/health_port + {self.workers - 1} (<= 65535)")
        return self


class HealthThresholds(Model):
    max_cpu_percent: Percent = 90.0
    max_memory_percent: Percent = 90.0


class DependencyKind(StrEnum):
    asr = "asr"
    llm = "llm"
    tts = "tts"
    other = "other"


class Dependency(Model):
    name: Name
    kind: DependencyKind
    url: Url
    timeout_s: Annotated[PlainFloat, Field(gt=0, le=60)] = 2.0


BotParamName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
BotParamValue = Annotated[str, Field(pattern=r"^[A-Za-z0-9 _.,:/@+=-]{0,256}$")]


class BotAuth(Model):
    """A header sent with the WebSocket upgrade; its value is a secret (env or file)."""

    header: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,64}$")] = "Authorization"
    value: SecretRef


class WebsocketBot(Model):
    """The bot the `websocket` pipeline bridges each call to (Media Streams protocol)."""

    url: Url = Field(description="ws:// or wss:// URL the agent connects to per answered call.")
    parameters: Annotated[dict[BotParamName, BotParamValue], Field(max_length=32)] = Field(
        default_factory=dict, description="Sent as start.customParameters."
    )
    auth: BotAuth | None = None
    connect_timeout_s: Annotated[PlainFloat, Field(gt=0, le=30)] = 3.0
    silence_timeout_s: Annotated[PlainFloat, Field(gt=0, le=600)] = Field(
        default=30.0, description="A bot that sends nothing for this long is given up on."
    )
    max_message_bytes: Annotated[int, Field(ge=1024, le=1_048_576)] = 65536
    buffer_ms: Annotated[int, Field(ge=200, le=120_000)] = Field(
        default=10_000, description="Bot audio queued ahead of playback at most; the excess is dropped."
    )
    prebuffer_ms: Annotated[int, Field(ge=0, le=500)] = 20
    max_bad_messages: Annotated[int, Field(ge=1, le=10_000)] = 20
    on_failure: Literal["ivr", "hangup"] = Field(
        default="ivr", description="Connection failure, silent bot, protocol errors: IVR or hang up."
    )
    on_close: Literal["hangup", "ivr"] = "hangup"

    @model_validator(mode="after")
    def _scheme(self) -> WebsocketBot:
        if not self.url.startswith(("ws://", "wss://")):
            raise ValueError("url must be ws:// or wss://")
        return self


class AgentPool(Model):
    instances: Annotated[list[AgentInstance], Field(min_length=1)]
    health: HealthThresholds = Field(default_factory=HealthThresholds)
    dependencies: list[Dependency] = Field(default_factory=list)
    pipeline: Pipeline = "echo"
    websocket: WebsocketBot | None = None
    drain_timeout_s: Annotated[int, Field(ge=0, le=3600)] = 30

    @model_validator(mode="after")
    def _bot(self) -> AgentPool:
        if self.pipeline == "websocket" and self.websocket is None:
            raise ValueError("pipeline websocket needs a websocket section (url)")
        return self


# --- monitoring SLOs -----------------------------------------------------------------


class AsrSlo(Model):
    healthy_percent: Percent = 95.0
    alert_below_percent: Percent = 90.0
    window_s: Annotated[int, Field(ge=60, le=86400)] = 300

    @model_validator(mode="after")
    def _order(self) -> AsrSlo:
        if self.alert_below_percent > self.healthy_percent:
            raise ValueError("alert_below_percent must not exceed healthy_percent")
        return self


class Spike503(Model):
    """A 503 spike: at least `min_count` 503s and `min_percent` of finals in `window_s`."""

    window_s: Annotated[int, Field(ge=10, le=3600)] = 60
    min_count: Annotated[int, Field(ge=1)] = 5
    min_percent: Percent = 5.0


class Slo(Model):
    asr: AsrSlo = Field(default_factory=AsrSlo)
    pdd_max_ms: Annotated[int, Field(ge=1, le=60_000)] = 2000
    loss_max_percent: Percent = 1.0
    jitter_max_ms: Annotated[PlainFloat, Field(gt=0, le=1000)] = 30.0
    mos_min: Annotated[PlainFloat, Field(ge=1.0, le=4.5)] = 3.5
    spike_503: Spike503 = Field(default_factory=Spike503)
    # what the decoded audio of a call is judged against (`voxops audio`, `voxops diagnose`)
    response_latency_ms: Annotated[int, Field(ge=50, le=30_000)] = 1500
    dead_air_s: Annotated[PlainFloat, Field(gt=0, le=600)] = 5.0
    silent_media_s: Annotated[PlainFloat, Field(gt=0, le=600)] = 5.0
    greeting_max_s: Annotated[PlainFloat, Field(gt=0, le=600)] = 3.0
    talk_over_ms: Annotated[int, Field(ge=50, le=30_000)] = 800


# --- DNS and TLS watch lists ---------------------------------------------------------


class Vantage(Model):
    name: Name
    address: IPAddress
    port: Port = 53


class RecordType(StrEnum):
    A = "A"
    AAAA = "AAAA"
    SRV = "SRV"
    NAPTR = "NAPTR"


class DnsRecord(Model):
    name: DnsName
    type: RecordType
    expect: list[DnsAnswer] = Field(
        default_factory=list,
        description="Expected answers: addresses for A/AAAA, 'priority weight port target' for SRV.",
    )
    max_ttl_s: Annotated[int, Field(ge=0)] = 300


class DnsChecks(Model):
    vantages: list[Vantage] = Field(default_factory=list)
    records: list[DnsRecord] = Field(default_factory=list)
    timeout_s: Annotated[PlainFloat, Field(gt=0, le=60)] = 2.0


class TlsEndpoint(Model):
    name: Name
    host: Host
    port: Port = 5061
    server_name: Host | None = None
    node: Name | None = Field(
        default=None, description="The SBC node behind it: enables the TLS-down-but-UDP-up check."
    )
    ca: FilePath | None = None
    client_certificate: FilePath | None = None
    client_key: FilePath | None = None
    warn_days: Annotated[int, Field(ge=0, le=3650)] = 21
    critical_days: Annotated[int, Field(ge=0, le=3650)] = 7

    @model_validator(mode="after")
    def _days(self) -> TlsEndpoint:
        if self.critical_days > self.warn_days:
            raise ValueError("critical_days must not exceed warn_days")
        if (self.client_certificate is None) != (self.client_key is None):
            raise ValueError("client_certificate and client_key go together")
        return self


# --- the whole topology --------------------------------------------------------------


class Topology(Model):
    """The whole estate, described once; every voxops command reads this."""

    version: Literal[1] = 1
    name: Name
    carriers: Annotated[list[Carrier], Field(min_length=1)]
    sbc: Sbc
    agents: AgentPool
    slo: Slo = Field(default_factory=Slo)
    dns: DnsChecks = Field(default_factory=DnsChecks)
    tls_endpoints: list[TlsEndpoint] = Field(default_factory=list)

    def trunks(self) -> list[tuple[Carrier, Trunk]]:
        return [(c, t) for c in self.carriers for t in c.trunks]

    def addresses(self) -> dict[str, str]:
        """Every address the topology knows, mapped to the name to show for it."""
        names: dict[str, str] = {}
        for carrier, trunk in self.trunks():
            for host in trunk.hosts:
                names.setdefault(host.address, f"{carrier.name}/{trunk.name}")
        for node in self.sbc.nodes:
            names.setdefault(node.address, node.name)
            for _, addr, _ in node.sockets():
                names.setdefault(addr, node.name)
        for agent in self.agents.instances:
            names.setdefault(agent.host, agent.name)
        return names
