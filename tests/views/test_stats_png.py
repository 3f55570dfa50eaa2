"""The stats PNG says which SLO made a window red, keeps its time axes readable and plots
the stream with the worst jitter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_hex

from tests.views.pictures import scenarios
from voxops.analysis.loader import analyse_capture, policy_for
from voxops.analysis.streams import RtpStream
from voxops.analysis.trunkstats import stats_report
from voxops.views.stats_png import RED, stats_figure, time_ticks, worst_jitter_stream


def slow_ringing_capture(path: Path) -> Path:
    """Four answered calls within a minute, one with 6.5 s of PDD: PDD p95 breaks its 2 s
    SLO, ASR is 100 %."""
    sc = scenarios()
    packets = []
    for i, make in enumerate((sc.clean_call, sc.clean_call, sc.clean_call, sc.high_pdd)):
        call = sc.Call(f"pdd-{i}@voxops", caller=sc.CARRIER_A)
        make(call)
        packets += [sc.Datagram(p.time + 10.0 * i, p.src, p.dst, p.payload) for p in call.packets]
    sc.write_pcap(path, packets)
    return path


@pytest.fixture(scope="module")
def pdd_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return slow_ringing_capture(tmp_path_factory.mktemp("stats") / "pdd.pcap")


def _bar_colours(ax) -> list[str]:  # type: ignore[no-untyped-def]
    return [to_hex(p.get_facecolor()) for p in ax.patches]


def test_a_pdd_breach_is_red_in_the_pdd_panel_only(pdd_only):
    policy = policy_for(None)
    analysis = analyse_capture(pdd_only, keep_jitter=True, warn=lambda _m: None, compact=True)
    report = stats_report(str(pdd_only), analysis.dialogs, analysis.streams, policy)
    assert report.asr == 100.0 and [b.kpi for w in report.windows for b in w.breaches] == ["pdd_p95"]
    fig = stats_figure(report, worst_jitter_stream(analysis.streams, analysis.jitter), policy)
    (asr, pdd), (mos, jitter) = np.reshape(fig.axes, (2, 2))
    assert "red: ASR < 90 % SLO" in asr.get_title() and asr.get_title().endswith(": 0 of 1")
    assert to_hex(RED) not in _bar_colours(asr)
    assert "red: PDD p95 > 2 s SLO: 1 of 1" in pdd.get_title()
    assert _bar_colours(pdd) == [to_hex(RED)]
    assert fig.get_suptitle().endswith("SLO breaches: PDD p95 in 1 window")
    assert "red: MOS < 3.5 SLO: 0 of 4 calls" in mos.get_title()
    assert "MOS SLO 3.5" in [t.get_text() for t in mos.get_legend().get_texts()]
    for ax in (asr, pdd, mos, jitter):
        labels = [t.get_text() for t in ax.get_xticklabels()]
        assert len(labels) == len(set(labels)) >= 2, labels


def test_stats_png_writes_quietly(cli, pdd_only, tmp_path):
    out = tmp_path / "s.png"
    code, _, err = cli("stats", pdd_only, "--format", "png", "--output", out)
    assert code in (0, 1) and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "warning" not in err


@pytest.mark.parametrize("span_s", [20, 75, 240, 3600, 5 * 3600, 3 * 86400, 40 * 86400])
def test_time_ticks_never_repeat_a_label(span_s):
    start = 1_764_000_000.0 + 17
    ticks, labels, axis = time_ticks(start, start + span_s)
    assert 2 <= len(ticks) <= 7
    assert len(set(labels)) == len(labels), labels
    assert all(start <= t <= start + span_s for t in ticks)
    assert axis.startswith(("time (UTC", "date (UTC)"))


def test_the_jitter_panel_takes_the_worst_stream_not_the_longest():
    def stream(packets: int, max_jitter: float) -> RtpStream:
        return RtpStream.model_construct(src=f"10.0.0.{packets}:4000", dst="10.0.0.9:4000", packets=packets,
                                         max_jitter_ms=max_jitter, mean_jitter_ms=max_jitter / 2)

    streams = [stream(5000, 2.0), stream(300, 48.0), stream(900, 11.0)]
    series = {k: np.zeros((2, 3)) + k for k in range(3)}
    label, data = worst_jitter_stream(streams, series)
    assert label == "10.0.0.300:4000 -> 10.0.0.9:4000 (max 48.0 ms)" and data[0][0] == 1
    assert worst_jitter_stream(streams, {}) is None
