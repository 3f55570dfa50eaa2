"""Text and HTML views of RTP streams, call diagnoses and trunk statistics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from voxops.text.fit import LAST_RESORT, PIPED_WIDTH, Column, Table, fit_line, fit_lines, fit_table
from voxops.text.safe_text import html_text, visible, visible_fields
from voxops.text.times import Stamps, TimeMode
from voxops.views.findings import format_finding

if TYPE_CHECKING:
    from voxops.analysis.diagnosis import CallDiagnosis
    from voxops.analysis.streams import RtpStream
    from voxops.analysis.trunkstats import StatsReport


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _num(v: float | None, fmt: str = ".1f") -> str:
    return "-" if v is None else format(v, fmt)


_STREAM_COLUMNS = (
    Column("start", right=True), Column("dur s", right=True, drop=5),
    Column("src", shrink_to=14, middle=True), Column("dst", shrink_to=14, middle=True),
    Column("SSRC", drop=6), Column("PT", right=True, drop=LAST_RESORT),
    Column("pkts", right=True, drop=LAST_RESORT + 1),
    Column("lost", right=True, drop=4), Column("loss%", right=True), Column("max d ms", right=True, drop=1),
    Column("max jit ms", right=True, drop=LAST_RESORT + 2), Column("mean jit ms", right=True, drop=2), Column("MOS", right=True),
    Column("call", shrink_to=10, drop=3, weight=2.0),
)


def _stream_times(streams: list[RtpStream], time: TimeMode) -> tuple[str, list[str]]:
    """The header line and the start cell of each stream in one time convention."""
    if not streams:
        return "", []
    stamps = Stamps(time, min(s.start - s.start_rel for s in streams))  # the capture's first frame
    return stamps.header("the capture's first frame"), [stamps(s.start) for s in streams]


def streams_text(streams: list[RtpStream], *, width: int = PIPED_WIDTH, full: bool = False,
                 time: TimeMode = TimeMode.rel) -> str:
    header, times = _stream_times(streams, TimeMode(time))
    rows = [[start, f"{s.end - s.start:.1f}", visible(s.src), visible(s.dst), f"0x{s.ssrc:08X}",
             ",".join(str(p) for p in s.payload_types), str(s.packets), str(s.lost), f"{s.lost_pct:.1f}",
             f"{s.max_delta_ms:.3f}", f"{s.max_jitter_ms:.3f}", f"{s.mean_jitter_ms:.3f}",
             _num(s.mos, ".2f"), visible(s.call_id or "-")]
            for s, start in zip(streams, times, strict=True)]
    table = fit_table(_STREAM_COLUMNS, rows, width, full=full, gap=1)
    lines = (fit_line(header, width, full=full) if header else []) + table.lines
    if not streams:
        lines.append("(no RTP stream; RTP-only captures need --rtp-heuristic)")
    lines += _fitted_note(table, width)
    return "\n".join(lines)


def _fitted_note(table: Table, width: int) -> list[str]:
    if not (table.dropped or table.elided):
        return []
    left_out = f"left out: {', '.join(table.dropped)}; " if table.dropped else ""
    return fit_line(f"(fitted to {width} columns: {left_out}--full, --width N or --format json shows more)",
                    width)


_HOP_COLUMNS = (Column("time", right=True), Column("frame", right=True), Column("from", shrink_to=12, middle=True),
                Column("to", shrink_to=12, middle=True), Column("message", shrink_to=12, weight=2.0))
INDENT = "    "


def _hops(d: CallDiagnosis, width: int, full: bool, time: TimeMode) -> list[str]:
    stamps = Stamps(time, d.start)
    rows = [[stamps(d.start + h.time), f"#{h.frame}", h.src, h.dst, h.message + (" (rtx)" if h.retransmission else "")]
            for h in d.hops]
    table = fit_table(_HOP_COLUMNS, rows, width - len(INDENT), full=full)
    head = fit_line(f"  ladder; {stamps.header('')}", width, full=full)
    return head + [INDENT + line for line in table.lines]


def diagnosis_text(d: CallDiagnosis, *, width: int = PIPED_WIDTH, full: bool = False,
                   time: TimeMode = TimeMode.rel) -> str:
    d = visible_fields(d)  # every string of a diagnosis may come from the capture
    out = [f"call {d.call_id}" + (f" (legs: {', '.join(d.legs)})" if d.legs else "")]
    out.append(f"  {d.from_uri} -> {d.to_uri}  trunk {d.trunk or '-'}  started {_clock(d.start)} UTC")
    status = f"{d.final_status} ({d.final_meaning})" if d.final_status else "no final response"
    out.append(f"  setup: {status}; PDD {_num(d.pdd_ms, '.0f')} ms; talk {_num(d.duration_s)} s; "
               f"{d.auth_challenges} auth challenge(s); {d.retransmissions} retransmission(s)")
    for hop, answers in d.answered_by.items():
        out.append(f"  {hop} answered: {', '.join(answers)}")
    tail = []
    c = d.codecs
    if c.offer:
        tail.append(f"  offer  (#{c.offer.frame}) {c.offer.address}:{c.offer.port} {' '.join(c.offer.codecs)} "
                    f"{c.offer.direction}")
    if c.answer:
        tail.append(f"  answer (#{c.answer.frame}) {c.answer.address}:{c.answer.port} {' '.join(c.answer.codecs)} "
                    f"{c.answer.direction}")
    tail.append(f"  RTP payload types seen: offerer->answerer {c.seen_forward or '-'}, "
                f"answerer->offerer {c.seen_reverse or '-'}")
    for s in d.streams:
        tail.append(f"  stream {s.src} -> {s.dst} PT {s.payload_types} {s.packets} pkts, lost {s.lost} "
                    f"({s.lost_pct:.1f}%), max jitter {s.max_jitter_ms:.2f} ms, MOS {_num(s.mos, '.2f')} "
                    f"(R {_num(s.r_factor)})")
    tail.append(f"verdict: {d.verdict}")
    for f in d.findings:
        tail.append("  " + format_finding(f))
    lines = fit_lines(out, width, full=full) + _hops(d, width, full, TimeMode(time)) + fit_lines(tail, width, full=full)
    return "\n".join(lines)


def diagnosis_html(d: CallDiagnosis) -> str:
    d = visible_fields(d)
    e = html_text
    rows = "".join(
        f"<tr><td>{h.time:.3f}</td><td>{h.frame}</td><td>{e(h.src)}</td><td>{e(h.dst)}</td>"
        f"<td>{e(h.message)}{' (retransmission)' if h.retransmission else ''}</td></tr>"
        for h in d.hops
    )
    finds = "".join(
        f"<li class='{f.severity.value}'><b>{f.severity.value} {e(f.code)}</b>: {e(f.message)}"
        f"{' at ' + e(f.where) if f.where else ''} &mdash; runbook <code>{e(f.runbook or '-')}</code></li>"
        for f in d.findings
    ) or "<li>no problem found</li>"
    streams = "".join(
        f"<tr><td>{e(s.src)}</td><td>{e(s.dst)}</td><td>{s.payload_types}</td><td>{s.packets}</td>"
        f"<td>{s.lost} ({s.lost_pct:.1f}%)</td><td>{s.max_jitter_ms:.2f}</td><td>{_num(s.mos, '.2f')}</td></tr>"
        for s in d.streams
    )
    c = d.codecs
    sdp = "".join(
        f"<tr><td>{role}</td><td>{v.frame}</td><td>{e(str(v.address))}:{v.port}</td>"
        f"<td>{e(' '.join(v.codecs))}</td><td>{v.direction}</td></tr>"
        for role, v in (("offer", c.offer), ("answer", c.answer)) if v is not None
    )
    status = f"{d.final_status} ({d.final_meaning})" if d.final_status else "no final response"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>voxops diagnose {e(d.call_id)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 6px;font-size:90%}}.critical,.error{{color:#b00}}.warning{{color:#a60}}</style>
</head><body>
<h1>Call {e(d.call_id)}</h1>
<p>{e(str(d.from_uri))} &rarr; {e(str(d.to_uri))}; trunk {e(d.trunk or '-')}; {e(status)};
PDD {_num(d.pdd_ms, '.0f')} ms; talk {_num(d.duration_s)} s</p>
<h2>Verdict: {e(d.verdict)}</h2><ul>{finds}</ul>
<h2>Ladder</h2><table><tr><th>s</th><th>frame</th><th>from</th><th>to</th><th>message</th></tr>{rows}</table>
<h2>SDP</h2><table><tr><th></th><th>frame</th><th>media</th><th>codecs</th><th>direction</th></tr>{sdp}</table>
<p>payload types seen: offerer&rarr;answerer {c.seen_forward}, answerer&rarr;offerer {c.seen_reverse}</p>
<h2>RTP</h2><table><tr><th>source</th><th>destination</th><th>PT</th><th>packets</th><th>lost</th>
<th>max jitter ms</th><th>MOS</th></tr>{streams}</table>
</body></html>
"""


def stats_text(r: StatsReport, *, width: int = PIPED_WIDTH, full: bool = False) -> str:
    # the per-call list is not printed: only the fields shown are made visible (large captures)
    shown = ("capture", "trunks", "response_codes", "retransmissions", "windows", "spikes_503", "findings")
    r = r.model_copy(update={k: visible_fields(getattr(r, k)) for k in shown})
    out = [
        f"{r.capture}: {r.calls} call(s), {r.seizures} seizure(s), {r.answered} answered",
        f"  ASR {_num(r.asr)}%  NER {_num(r.ner)}%  ISA {_num(r.isa)}%  ACD {_num(r.acd_s)} s",
        f"  PDD p50 {_num(r.pdd_ms.p50, '.0f')} ms  p95 {_num(r.pdd_ms.p95, '.0f')} ms  "
        f"max {_num(r.pdd_ms.max, '.0f')} ms  (failed setups: {r.pdd_failed_ms.count})",
        f"  MOS ({r.mos.calls_with_media} call(s) with media): "
        + ", ".join(f"{k}: {v}" for k, v in r.mos.histogram.items())
        + f"; below {r.mos.threshold}: {len(r.mos.below_threshold)}",
    ]
    for trunk, t in r.trunks.items():
        out.append(f"  {trunk}: {t.calls} call(s), ASR {_num(t.asr)}%, NER {_num(t.ner)}%, ISA {_num(t.isa)}%, "
                   f"ACD {_num(t.acd_s)} s")
    out.append("  response codes per trunk (per transaction):")
    for trunk, codes in r.response_codes.items():
        retrans = r.retransmissions.get(trunk, 0)
        out.append(f"    {trunk}: " + ", ".join(f"{k} x{v}" for k, v in codes.items())
                   + (f"; {retrans} retransmission(s)" if retrans else ""))
    out.append(f"  windows of {r.window_s} s (start, UTC):")
    for w in r.windows:
        flag = "  << " + "; ".join(str(b) for b in w.breaches) if w.breaches else ""
        out.append(f"    {_clock(w.start)}  calls {w.ratios.calls:4d}  ASR {_num(w.ratios.asr):>5}%  "
                   f"PDD p95 {_num(w.pdd_ms.p95, '.0f'):>6} ms{flag}")
    for s in r.spikes_503:
        out.append(f"  503 spike: {s.trunk} {s.count_503}/{s.finals} at {_clock(s.start)}")
    if r.audio is not None:
        from voxops.views.audio import audio_stats_lines

        out += audio_stats_lines(r.audio)
    for f in r.findings:
        out.append("  " + format_finding(f))
    return "\n".join(fit_lines(out, width, full=full))
