"""`voxops audio` holds one call: its memory does not grow with the capture's other calls."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from tests.audio.support import g711_packets, noise
from voxops.audio.call import decode_call
from voxops.audio.conversation import Thresholds
from voxops.capture.files import CHUNK, read_batches
from voxops.capture.writer import PcapWriter, rtp_bytes, udp_frame, write_rtp_call

CALL = "audio-call@test"
SECONDS = 60


def _crowd(alone: Path, crowded: Path, others: int) -> None:
    frames = []
    for batch in read_batches(alone, lambda _m: None):
        frames += [(float(batch.ts[i]), batch.data(i)) for i in range(len(batch))]
    t0, payload = frames[0][0], bytes(range(160))
    for k in range(others):
        frames += [(t0 + 0.25 + 0.02 * i + 1e-4 * k, udp_frame(f"10.5.0.{k + 1}", 30000, "10.6.0.1", 32000 + 2 * k,
                                                               rtp_bytes(i, 160 * i, 500 + k, 0, payload)))
                   for i in range(SECONDS * 50)]
    frames.sort(key=lambda f: f[0])
    with PcapWriter(crowded) as w:
        for ts, data in frames:
            w.write(ts, data)


def _peak(path: Path) -> int:
    tracemalloc.start()
    call = decode_call(path, CALL, (), limits=Thresholds(), warn=lambda _m: None)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert call.sides["caller"].packets == SECONDS * 50
    return peak


def test_memory_does_not_grow_with_other_calls(tmp_path) -> None:
    pcm = noise(SECONDS)
    write_rtp_call(tmp_path / "alone.pcap", g711_packets(pcm, ssrc=1), g711_packets(pcm, ssrc=2), call_id=CALL)
    _crowd(tmp_path / "alone.pcap", tmp_path / "crowded.pcap", others=60)
    size_growth = (tmp_path / "crowded.pcap").stat().st_size - (tmp_path / "alone.pcap").stat().st_size
    alone, crowded = _peak(tmp_path / "alone.pcap"), _peak(tmp_path / "crowded.pcap")
    assert size_growth > 3 * CHUNK
    # what grows is the reading of one buffer's worth of packets at a time, not the call's state
    assert crowded - alone < CHUNK, (alone, crowded)
