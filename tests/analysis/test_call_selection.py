"""`ladder`/`export --call-id` keep only the chosen call's messages while scanning:
the same dialogs as a full scan, in memory that does not grow with the capture."""

from __future__ import annotations

import pytest

from tests.support.cli import run_cli
from voxops.analysis.dialogs import DEFAULT_CORRELATION
from voxops.analysis.loader import select_call_sip
from voxops.capture import scan
from voxops.capture.writer import write_sip_calls as write_calls
from voxops.errors import InvalidInput
from voxops.views.ladder import pick_dialogs


def described(dialogs):  # type: ignore[no-untyped-def]
    return [(d.call_id, [p.frame for p in d.messages], d.legs, d.final_status, d.pdd_ms, d.duration_s,
             d.retransmissions, len(d.transactions)) for d in dialogs]


@pytest.fixture(scope="module")
def capture(tmp_path_factory):  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("select") / "calls.pcap"
    write_calls(path, 400, b2bua_every=7)
    return path


@pytest.mark.parametrize("chosen", [["call-7@x"], ["leg-14@b2b"], ["call-3@x"], ["leg-35@"], ["call-399"],
                                    ["call-3@x", "leg-28@b2b"]])
def test_selected_dialogs_equal_those_of_a_full_scan(capture, chosen):
    full = pick_dialogs(scan(capture, media=False).sip, chosen, DEFAULT_CORRELATION)
    selected = pick_dialogs(select_call_sip(capture, chosen), chosen, DEFAULT_CORRELATION)
    assert described(selected) == described(full)
    assert len(full) >= len(chosen)


def test_a_leg_seen_before_the_one_asked_for_is_found(capture):
    """leg-14@b2b names call-14@x, whose INVITE came first: the scan is repeated for it."""
    sip = select_call_sip(capture, ["leg-14@b2b"])
    assert {p.msg.call_id for p in sip} == {"call-14@x", "leg-14@b2b"}
    assert sorted(p.frame for p in sip) == [p.frame for p in sip]


def test_ambiguous_and_unknown_prefixes_are_refused_as_before(capture):
    for chosen in (["call-1"], ["nothing-like-it"]):
        with pytest.raises(InvalidInput) as full_error:
            pick_dialogs(scan(capture, media=False).sip, chosen, DEFAULT_CORRELATION)
        with pytest.raises(InvalidInput) as selected_error:
            pick_dialogs(select_call_sip(capture, chosen), chosen, DEFAULT_CORRELATION)
        assert str(selected_error.value) == str(full_error.value)


@pytest.mark.timeout(300)
def test_ladder_memory_does_not_grow_with_the_capture(tmp_path):
    small, large = tmp_path / "small.pcap", tmp_path / "large.pcap"
    write_calls(small, 500, b2bua_every=10)
    write_calls(large, 20_000, b2bua_every=10)
    rss = {}
    for path in (small, large):
        code, out, err, rss[path] = run_cli("ladder", path, "--call-id", "leg-250@b2b", timeout=240)
        assert code == 0, err
        assert "call-250@x" in out or "leg-250@b2b" in out
    assert rss[large] < 1.3 * rss[small], f"{rss[small]:.0f} MiB -> {rss[large]:.0f} MiB"
