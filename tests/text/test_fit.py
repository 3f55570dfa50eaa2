"""Text views laid out for a width: lanes shrink with hosts, labels elide, times follow one convention."""

from __future__ import annotations

import re

import pytest

from tests.support.ladder_checks import ladder_of
from voxops.text.fit import Column, elide, fit_line, fit_table
from voxops.views.ladder_text import render_text

LONG = "503 Service Unavailable (agent pool draining for a rolling upgrade, retry another member)"
SDP = "audio 10.20.30.40:40000 PCMU/8000,PCMA/8000,telephone-event/8000 sendrecv"


def _ladder(hosts: int):  # type: ignore[no-untyped-def]
    columns = [f"host-{i}-with-a-rather-long-name.example.net" for i in range(hosts)]
    arrows = [(i, i + 1, "INVITE", SDP, "x") for i in range(hosts - 1)]
    arrows += [(i + 1, i, LONG, None, "x") for i in range(hosts - 1)]
    arrows.append((0, hosts - 1, "BYE", None, "x"))
    return ladder_of(columns, "c" * 120 + "@example.net", arrows, "PCMU")


@pytest.mark.parametrize("hosts", [2, 3, 4, 6, 8])
@pytest.mark.parametrize("width", [60, 80, 132])
def test_every_line_fits_and_every_arrow_is_whole(hosts: int, width: int) -> None:
    text = render_text(_ladder(hosts), width=width)
    lines = text.splitlines()
    assert max(len(ln) for ln in lines) <= width, max(lines, key=len)
    # an arrow starts at a lane and its head touches the other lane, on one line
    arrows = [ln for ln in lines if re.search(r"\|[^| ][^|]*>\||\|<[^|]*[^| ]\|", ln)]
    assert len(arrows) == 2 * (hosts - 1) + 1 + 1  # the messages and the RTP start
    assert all(re.match(r"t\+\d+\.\d{3} ", ln) for ln in arrows)
    top = lines[: next(i for i, ln in enumerate(lines) if re.fullmatch(r"[ |]+", ln))]
    tokens = " ".join(top).split()
    assert len([t for t in tokens if t.startswith("host-")]) == hosts  # every host named
    assert all(t.count("host-") <= 1 for t in tokens)  # no two names run together
    assert "shortened to fit" in text


def test_lanes_narrow_as_hosts_are_added() -> None:
    def lane(hosts: int) -> int:
        header = render_text(_ladder(hosts), width=80).splitlines()[3]  # the first lane line
        bars = [i for i, c in enumerate(header) if c == "|"]
        return bars[1] - bars[0]

    assert lane(2) > lane(4) > lane(6)


def test_full_keeps_every_label_and_sdp_whole() -> None:
    text = render_text(_ladder(4), width=80, full=True)
    assert LONG in text and "SDP " + SDP in text and "c" * 120 in text
    assert "\u2026" not in text and "~" not in text
    short = render_text(_ladder(4), width=80)
    assert LONG not in short and "SDP audio 10.20.30.40:40000 PCMU,PCMA,DTMF sendrecv" in short


def test_time_convention_is_stated_and_kept() -> None:
    ladder = _ladder(3)  # arrows 0.1 s apart from t = 1.0
    rel = render_text(ladder, width=80).splitlines()
    assert rel[0] == "time: t+ seconds since 1970-01-01 00:00:01.000 UTC (the call's first message)"
    assert [ln[:7] for ln in rel if ln.startswith("t+")][:3] == ["t+0.000", "t+0.050", "t+0.100"]
    delta = render_text(ladder, width=80, time="delta").splitlines()
    assert delta[0].startswith("time: + seconds since the row before")
    assert [ln.split()[0] for ln in delta if ln.startswith("+")][:3] == ["+0.000", "+0.050", "+0.050"]
    absolute = render_text(ladder, width=80, time="abs").splitlines()
    assert absolute[0] == "time: UTC clock, 1970-01-01"
    assert [ln.split()[0] for ln in absolute if ln[:2] == "00"][:2] == ["00:00:01.000", "00:00:01.050"]


def test_tables_shrink_then_leave_out_then_go_below_the_floor() -> None:
    columns = [Column("id", shrink_to=6, weight=2.0), Column("n", right=True), Column("extra", drop=1),
               Column("note", shrink_to=6)]
    rows = [["x" * 40, "7", "e" * 20, "n" * 30]]
    wide = fit_table(columns, rows, 200)
    assert not wide.dropped and not wide.elided and "x" * 40 in wide.lines[1]
    mid = fit_table(columns, rows, 50)
    assert mid.dropped == [] and mid.elided and all(len(ln) <= 50 for ln in mid.lines)
    narrow = fit_table(columns, rows, 20)
    assert narrow.dropped == ["extra"] and all(len(ln) <= 20 for ln in narrow.lines)
    assert fit_table(columns, rows, 20, full=True).lines[1].startswith("x" * 40)


def test_prose_wraps_at_spaces_and_elides_words_longer_than_a_line() -> None:
    word = "w" * 200
    lines = fit_line(f"  setup: 503 from {word} after 3 tries", 40)
    assert all(len(ln) <= 40 for ln in lines)
    assert lines[0].startswith("  setup: 503 from") and lines[-1].endswith("after 3 tries")
    assert elide("abcdefghij", 5) in ("abcd\u2026", "abcd~")
