"""The E-model reproduces the worked values of G.107 Annex B with G.113 codec constants."""

from __future__ import annotations

import pytest

from voxops.analysis.emodel import G711_PLC, G729A_VAD, burst_ratio, codec_impairment, estimate_mos


@pytest.mark.parametrize(
    ("codec", "loss", "delay", "r", "mos"),
    [
        (G711_PLC, 0.0, 0.0, 93.2, 4.41),
        (G711_PLC, 1.0, 0.0, 89.6, 4.33),
        (G711_PLC, 5.0, 0.0, 77.4, 3.92),
        (G711_PLC, 1.0, 250.0, 75.6, 3.85),
        (G729A_VAD, 0.0, 0.0, 82.2, 4.10),
        (G729A_VAD, 5.0, 0.0, 64.7, 3.34),
    ],
)
def test_worked_values(codec, loss, delay, r, mos):
    result = estimate_mos(codec, loss, delay_ms=delay)
    assert result.r_factor == pytest.approx(r, abs=0.05)
    assert result.mos == pytest.approx(mos, abs=0.005)
    assert "G.107" in result.method


def test_bursty_loss_scores_lower_than_random_loss():
    random = estimate_mos(G711_PLC, 5.0, burst=1.0)
    bursty = estimate_mos(G711_PLC, 5.0, burst=3.0)
    assert bursty.r_factor < random.r_factor


def test_burst_ratio_of_patterns():
    spread = [i % 20 != 0 for i in range(1000)]
    assert burst_ratio(spread, 5.0) == pytest.approx(1.0)
    clumped = [not (100 <= i < 150) for i in range(1000)]
    assert burst_ratio(clumped, 5.0) > 10


def test_codec_lookup_by_name_and_payload_type():
    assert codec_impairment("G729", 18) is G729A_VAD
    assert codec_impairment(None, 18) is G729A_VAD
    assert codec_impairment("PCMU", 0) is G711_PLC
