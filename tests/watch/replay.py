"""Replaying a capture file as a HEP agent would mirror it: every UDP datagram, in order."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from voxops.capture import layers
from voxops.capture.tunnels import decode_frame
from voxops.watch.hep import encode_v3
from voxops.watch.pcapstream import PcapStream


def hep_packets(capture: Path) -> list[bytes]:
    stream = PcapStream(str(capture))
    out = []
    for ts, link, frame in stream.feed(capture.read_bytes()):
        ip = decode_frame(link, frame)
        assert ip is not None and ip.proto == layers.PROTO_UDP and ip.frag_id is None, "UDP only"
        udp = layers.udp_header(ip.payload)
        assert udp is not None
        out.append(encode_v3(ip.src, udp[0], ip.dst, udp[1], ts, udp[2]))
    return out


def send_udp(packets: list[bytes], target: tuple[str, int], *, source: str = "127.0.31.1",
             pause_every: int = 100) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        for i, data in enumerate(packets):
            sock.sendto(data, target)
            if i % pause_every == pause_every - 1:
                time.sleep(0.002)  # the watch keeps up; the kernel buffer is not the test
