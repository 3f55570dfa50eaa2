"""Loss, interarrival jitter and an E-model MOS for one RTP span of a ladder.

A ladder draws each media direction as a lane with these figures on it. They are
estimates for the picture (RFC 3550 A.3 loss and A.8 jitter over the span's packets in
arrival order); `voxops rtp` gives Wireshark-exact figures per stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxops.analysis import emodel
from voxops.analysis.rtpstats import clock_rate


@dataclass(frozen=True, slots=True)
class SpanQuality:
    lost: int
    loss_pct: float
    jitter_ms: float | None  # None: payload type without a known clock rate
    mos: float | None


def span_quality(ts: np.ndarray, seq: np.ndarray, rtp_ts: np.ndarray, payload_type: int,
                 codec: str) -> SpanQuality:
    """`ts` arrival epoch seconds, `seq` 16-bit sequence numbers, `rtp_ts` 32-bit RTP timestamps."""
    order = np.argsort(ts, kind="stable")
    seq = seq[order].astype(np.int64)
    steps = (np.diff(seq) + 32768) % 65536 - 32768  # wrap-aware sequence steps
    extended = np.concatenate([[0], np.cumsum(steps)]) if len(seq) else np.zeros(0, np.int64)
    expected = int(extended.max() - extended.min() + 1) if len(seq) else 0
    received = len(np.unique(extended))
    lost = max(expected - received, 0)
    loss_pct = 100.0 * lost / expected if expected else 0.0
    rate = clock_rate(payload_type, codec)
    jitter = None
    if rate and len(seq) > 1:
        arrival = ts[order] * rate
        stamps = rtp_ts[order].astype(np.int64)
        sent = np.concatenate([[0], np.cumsum((np.diff(stamps) + 2**31) % 2**32 - 2**31)])
        d = np.abs(np.diff(arrival - sent))
        j = 0.0
        for value in d.tolist():  # J += (|D| - J) / 16
            j += (value - j) / 16.0
        jitter = 1000.0 * j / rate
    impairment = emodel.codec_impairment(codec, payload_type)  # None: unknown codec, no MOS
    mos = emodel.estimate_mos(impairment, loss_pct).mos if expected and impairment else None
    return SpanQuality(lost=lost, loss_pct=loss_pct, jitter_ms=jitter, mos=mos)
