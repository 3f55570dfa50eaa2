"""The SBC's media plane: the relay (rtpengine) that anchors every call's RTP.

With `sbc.media` set, each SBC node runs an rtpengine beside Kamailio: carriers send
their media to the node's public address, agents to its private one, and neither ever
learns the other's address. The relay's control socket (ng protocol) listens on loopback.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from voxops.spec.types import Codec, FilePath, IPAddress, Name, Port

# One audio call through the relay: an RTP and an RTCP port on each of its two legs.
PORTS_PER_CALL = 4


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class MediaNode(_Model):
    """Where one SBC node's relay sends and receives media; both default to the node's address."""

    node: Name = Field(description="The SBC node (sbc.nodes[].name) these addresses belong to.")
    public: IPAddress | None = Field(default=None, description="Media address toward the carriers.")
    private: IPAddress | None = Field(default=None, description="Media address toward the agents.")


class Recording(_Model):
    """Per-call capture files written by the relay (both legs of the media, pcap)."""

    enabled: bool = False
    dir: FilePath | None = Field(default=None, description="Absolute folder the relay writes recordings into.")

    @model_validator(mode="after")
    def _dir(self) -> Recording:
        if self.enabled and not self.dir:
            raise ValueError("recording is enabled but recording.dir is not set")
        if self.dir and not self.dir.startswith("/"):
            raise ValueError("recording.dir must be an absolute path")
        return self


class Media(_Model):
    relay: Literal["rtpengine"] = "rtpengine"
    nodes: list[MediaNode] = Field(
        default_factory=list, description="Per-node media addresses; a node not listed uses its own address for both."
    )
    port_min: Port = Field(default=30000, description="Lowest UDP port of the relay's RTP range.")
    port_max: Port = Field(default=40000, description="Highest UDP port of the relay's RTP range.")
    transcode: list[Codec] = Field(
        default_factory=list,
        description="Empty (the default): codecs pass through untouched. Otherwise the relay offers "
        "these codecs to the far leg and transcodes between them.",
    )
    recording: Recording = Field(default_factory=Recording)
    ng_port: Port = Field(default=2223, description="UDP port of the relay's ng control socket (on loopback).")
    metrics_port: Port | None = Field(
        default=9103, description="TCP port of the relay's Prometheus listener (/metrics) on the node's address."
    )
    timeout_s: Annotated[int, Field(ge=1, le=3600)] = Field(
        default=60, description="A call whose media stops for this long is torn down by the relay."
    )

    @model_validator(mode="after")
    def _range(self) -> Media:
        if self.port_min > self.port_max:
            raise ValueError("port_min must not exceed port_max")
        if self.port_min < 1024:
            raise ValueError("port_min must be 1024 or above (the relay does not run privileged)")
        return self

    def calls_capacity(self) -> int:
        return (self.port_max - self.port_min + 1) // PORTS_PER_CALL

    def addresses(self, node_name: str, node_address: str) -> tuple[str, str]:
        """(public, private) media address of one node."""
        entry = next((n for n in self.nodes if n.node == node_name), None)
        public = (entry and entry.public) or node_address
        private = (entry and entry.private) or node_address
        return public, private

    @staticmethod
    def control_address(node_address: str) -> str:
        """The ng socket's address: the node's own when it is loopback (several nodes on one
        host, as in the lab), 127.0.0.1 (or ::1) otherwise."""
        ip = ipaddress.ip_address(node_address)
        if ip.is_loopback:
            return node_address
        return "::1" if ip.version == 6 else "127.0.0.1"
