"""Memory does not grow with the capture: the file is streamed, not loaded."""

from __future__ import annotations

import tracemalloc

from tests.support.capture import request
from voxops.capture import scan
from voxops.capture.files import CHUNK
from voxops.capture.writer import PcapWriter, udp_frame

RTP = bytes([0x80, 0]) + bytes(10) + b"\xd5" * 160


def test_scan_memory_is_bounded_by_the_buffer_not_the_file(tmp_path):
    path = tmp_path / "big.pcap"
    with PcapWriter(path) as w:
        for i in range(120_000):
            if i % 1000 == 0:
                w.write(1.0 + i / 1000, udp_frame("10.0.0.1", 5060, "10.0.0.2", 5060, request("OPTIONS", f"{i}@x")))
            w.write(1.0 + i / 1000, udp_frame("10.0.0.1", 4000, "10.0.0.2", 4002, RTP))
    size = path.stat().st_size
    assert size > 3 * CHUNK
    tracemalloc.start()
    result = scan(path, media=False)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result.packets == 120_120 and len(result.sip) == 120
    assert peak < CHUNK + 6 * 1024 * 1024 < size
