"""Talking to an SBC node's media relay from a drill: which calls it holds, and a fault that
makes it silently drop one direction of every new call (rtpengine ng `block media`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from voxops.probes import rtpengine_ng as ng
from voxops.probes.call_check import bencoded_list
from voxops.probes.call_check import relay_of as node_relay
from voxops.spec.models import Topology


def relay_of(topology: Topology, index: int) -> tuple[str, int]:
    """(host, port) of node `index`'s relay control socket."""
    relay = node_relay(topology, topology.sbc.nodes[index])
    assert relay is not None, "the spec has no media relay"
    return relay


def calls_held(relay: tuple[str, int], *, timeout: float = 1.0) -> set[str]:
    """Call-IDs the relay holds a session for (ng `list`)."""
    reply = ng.command(relay[0], relay[1], {"command": "list", "limit": 1000}, timeout=timeout)
    calls = reply.get(b"calls")
    return {c.decode("utf-8", "replace") for c in calls if isinstance(c, bytes)} if isinstance(calls, list) else set()


def tags_sending_from(relay: tuple[str, int], call_id: str, addresses: set[str], *, timeout: float = 1.0) -> list[str]:
    """Tags of the call's participants whose RTP comes from one of `addresses` (as the relay
    learned them from the SDP), once the relay knows both sides."""
    reply = ng.command(relay[0], relay[1], {"command": "query", "call-id": call_id}, timeout=timeout)
    tags = reply.get(b"tags")
    if not isinstance(tags, dict) or len(tags) < 2:
        return []
    found = []
    for tag, info in tags.items():
        for media in bencoded_list(info, b"medias"):
            for stream in bencoded_list(media, b"streams"):
                endpoint = stream.get(b"endpoint") if isinstance(stream, dict) else None
                address = endpoint.get(b"address") if isinstance(endpoint, dict) else None
                if isinstance(tag, bytes) and isinstance(address, bytes) and address.decode() in addresses:
                    found.append(tag.decode("utf-8", "replace"))
    return sorted(set(found))


@dataclass
class Blackhole:
    """Blocks the media sent from `drop_from` (addresses: the agents), on every call the
    relay takes while it runs: the caller hears nothing, SIP stays healthy."""

    relay: tuple[str, int]
    drop_from: set[str]
    blocked: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Blackhole:
        self._thread = threading.Thread(target=self._loop, name="relay-blackhole", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(0.01):
            try:
                for call_id in calls_held(self.relay) - self.blocked:
                    for tag in tags_sending_from(self.relay, call_id, self.drop_from):
                        ng.command(self.relay[0], self.relay[1],
                                   {"command": "block media", "call-id": call_id, "from-tag": tag}, timeout=1.0)
                        self.blocked.add(call_id)
            except ng.NgError as exc:
                if len(self.errors) < 20:
                    self.errors.append(str(exc))

    def stop(self) -> None:
        """Stop blocking new calls (idempotent); calls already blocked stay so until they end."""
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=3)
