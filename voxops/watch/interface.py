"""Packets from a network interface: dumpcap with a kernel BPF filter from the spec, read
from its output pipe as it writes."""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
from typing import TYPE_CHECKING

from voxops.errors import EnvironmentProblem, ToolMissing
from voxops.watch.pcapstream import PcapStream

if TYPE_CHECKING:
    from voxops.spec.models import Topology
    from voxops.watch.engine import Tracker

READ_CHUNK = 1 << 20
NON_FIRST_FRAGMENT = "(ip[6:2] & 0x1fff != 0)"  # carries no port: kept, the reassembly needs it


def sip_ports(topo: Topology) -> list[int]:
    ports = {s.port for n in topo.sbc.nodes for s in n.listen}
    ports |= {h.port for _, t in topo.trunks() for h in t.hosts}
    ports |= {a.sip_port for a in topo.agents.instances}
    return sorted(ports)


def bpf_filter(topo: Topology | None) -> str:
    """SIP on the spec's ports (UDP and TCP), RTP/RTCP in the relay's range, and IP
    fragments; without a relay in the spec RTP flows on any port: every UDP datagram."""
    if topo is None:
        return f"udp or tcp or {NON_FIRST_FRAGMENT}"
    sip = " or ".join(f"port {p}" for p in sip_ports(topo))
    media = topo.sbc.media
    rtp = f"udp portrange {media.port_min}-{media.port_max + 1}" if media is not None else "udp"
    return f"((udp or tcp) and ({sip})) or ({rtp}) or {NON_FIRST_FRAGMENT}"


class InterfaceCapture:
    """dumpcap on one interface, its pcapng read from a pipe into the engine."""

    def __init__(self, tracker: Tracker, interface: str, bpf: str) -> None:
        dumpcap = shutil.which("dumpcap") or shutil.which("dumpcap", path="/usr/sbin:/sbin")
        if dumpcap is None:
            raise ToolMissing("dumpcap is not installed (Debian: apt-get install tshark)")
        self.tracker, self.interface = tracker, interface
        self.stream = PcapStream(f"dumpcap on {interface}")
        self.proc = subprocess.Popen([dumpcap, "-q", "-i", interface, "-f", bpf, "-w", "-"], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        assert self.proc.stdout is not None
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.ended = False

    def register(self, sel: selectors.BaseSelector) -> None:
        assert self.proc.stdout is not None
        sel.register(self.proc.stdout, selectors.EVENT_READ, self._on_data)
        self.selector = sel

    def _on_data(self, pipe: object) -> None:
        assert self.proc.stdout is not None
        try:
            data = os.read(self.proc.stdout.fileno(), READ_CHUNK)
        except BlockingIOError:
            return
        if not data:
            self.selector.unregister(self.proc.stdout)
            self.ended = True
            return
        for ts, link, frame in self.stream.feed(data):
            self.tracker.frame(ts, link, frame)

    def poll(self) -> bool:
        if self.ended and self.proc.poll() is not None and self.proc.returncode != 0:
            assert self.proc.stderr is not None
            lines = self.proc.stderr.read().decode("utf-8", "replace").strip().splitlines()
            raise EnvironmentProblem(f"dumpcap on {self.interface} stopped: {lines[-1] if lines else self.proc.returncode}")
        return not self.ended

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
