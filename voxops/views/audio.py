"""Text view of `voxops audio`: where the files went, each side's audio, the conversation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voxops.text.safe_text import visible

if TYPE_CHECKING:
    from voxops.analysis.audio_kpi import AudioKpi, AudioStats
    from voxops.audio.report import AudioReport


def audio_text(r: AudioReport) -> str:
    c = r.conversation
    lines = [f"call {visible(r.call_id)}: {r.duration_s:.1f} s of audio"
             + (f", answered at {r.answered:.1f} s" if r.answered is not None else ", not answered")]
    if r.stereo:
        lines.append(f"  stereo WAV (caller left, agent right): {visible(r.stereo)}")
    for s in r.sides:
        codecs = sorted({c for seg in s.segments for c in seg.codecs}) or ["-"]
        lines.append(
            f"  {s.role:<6} {visible(s.source or '-'):<22} {'/'.join(codecs)} {s.sample_rate} Hz, "
            f"{s.packets} packets, {s.lost_packets} lost, {len(s.segments)} segment(s), talk {s.talk_s:.1f} s"
            + (f", WAV {visible(s.wav)}" if s.wav else ""))
        for codec, why in s.undecodable.items():
            lines.append(f"         not decoded: {visible(codec)}: {visible(why)}")
        if s.dtmf:
            lines.append("         DTMF: " + " ".join(f"{visible(e.digit)}@{e.at:.1f}s" for e in s.dtmf))
    lat = c.response_latency
    if lat.count:
        lines.append(f"  response latency: {lat.count} turns, p50 {lat.p50_ms:.0f} ms, "
                     f"p95 {lat.p95_ms:.0f} ms, max {lat.max_ms:.0f} ms")
    else:
        lines.append("  response latency: no answered turn")
    greeting = "never" if c.greeting_s is None else f"{c.greeting_s:.2f} s after the answer"
    lines.append(f"  agent's first words: {greeting}")
    if c.dead_air_share is not None:
        lines.append(f"  dead air: {len(c.dead_air)} gap(s), {100 * c.dead_air_share:.1f} % of the call")
    for f in c.findings:
        lines.append(f"  {f.severity.value.upper():<7} {f.code}: {visible(f.message)} (runbook {f.runbook})")
    if not c.findings:
        lines.append("  no conversation finding")
    return "\n".join(lines) + "\n"


def _kpi_line(name: str, k: AudioKpi) -> str:
    p50 = "-" if k.response_latency_p50_ms is None else f"{k.response_latency_p50_ms:.0f}"
    p95 = "-" if k.response_latency_p95_ms is None else f"{k.response_latency_p95_ms:.0f}"
    share = "-" if k.dead_air_share is None else f"{100 * k.dead_air_share:.1f}"
    return (f"    {visible(name)}: {k.calls} call(s), {k.turns} turn(s), response latency p50 {p50} ms "
            f"p95 {p95} ms, dead air {share}% of {k.up_s:.0f} s up")


def audio_stats_lines(a: AudioStats) -> list[str]:
    """`voxops stats --audio`: the conversation figures overall, per trunk and per agent."""
    out = ["  conversation (decoded audio):", _kpi_line("all calls", a.all)]
    for title, groups in (("trunk", a.trunks), ("agent", a.agents)):
        out += [_kpi_line(f"{title} {name}", k) for name, k in groups.items()]
    if a.undecoded:
        out.append(f"    {len(a.undecoded)} answered call(s) without decodable audio")
    return out
