"""A Call-ID or a unique prefix of one picks the same call in every command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.hostile import raw_controls
from tests.support.multihost import CALL_IDS, SHARED_PREFIX, write_capture

ESC_IDS = (f"dup\x1b]0;title\x07\u202e-first-{'a' * 60}@x", f"dup\x1b]0;title\x07\u202e-second-{'b' * 60}@x")


@pytest.fixture(scope="module")
def pcap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_capture(tmp_path_factory.mktemp("ids") / "four-hosts.pcap")


UNIQUE = CALL_IDS[1][: len(SHARED_PREFIX) + 5]  # "...-0002"


def test_a_unique_prefix_works_in_every_command(cli, pcap, tmp_path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("ladder", pcap, "--call-id", UNIQUE, "--full")
    assert code == 0, err
    assert f"Call-ID {CALL_IDS[1]}" in out and CALL_IDS[0] not in out
    code, _, err = cli("export", pcap, "--call-id", UNIQUE, "-o", tmp_path / "one.pcap")
    assert code == 0 and CALL_IDS[1] in err and CALL_IDS[0] not in err
    for index in ("--no-index", "--index", "--index"):  # without, building, then reading the index
        code, out, err = cli("diagnose", UNIQUE, "--pcap", pcap, index, "--format", "json")
        assert code in (0, 1), err
        assert json.loads(out)["call_id"] == CALL_IDS[1]
    code, out, _ = cli("calls", pcap, "--call-id", UNIQUE, "--format", "json")
    assert {r["call_id"] for r in json.loads(out) if r["call_id"].startswith(SHARED_PREFIX)} == {CALL_IDS[1]}


@pytest.mark.parametrize("command", ["ladder", "export", "diagnose", "diagnose-index"])
def test_an_ambiguous_prefix_lists_the_candidates(cli, pcap, tmp_path, command) -> None:  # type: ignore[no-untyped-def]
    args = {
        "ladder": ("ladder", pcap, "--call-id", SHARED_PREFIX),
        "export": ("export", pcap, "--call-id", SHARED_PREFIX, "-o", tmp_path / "x.pcap"),
        "diagnose": ("diagnose", SHARED_PREFIX, "--pcap", pcap, "--no-index"),
        "diagnose-index": ("diagnose", SHARED_PREFIX, "--pcap", pcap),
    }[command]
    if command == "diagnose-index":
        assert cli("diagnose", CALL_IDS[0], "--pcap", pcap)[0] in (0, 1)  # builds the index
    code, out, err = cli(*args)
    assert code == 2 and out == ""
    assert "matches 2 calls" in err
    for call_id, start in zip(CALL_IDS, ("2023-11-14 22:13:20.000", "2023-11-14 22:14:20.000"), strict=True):
        assert f"  {call_id}\n" in err
        assert f"start {start}  from +14155550123  to" in err
    assert f"`voxops calls {pcap}`" in err and "Traceback" not in err


@pytest.mark.parametrize("args", [("ladder", "{pcap}", "--call-id", "nothing-like-it"),
                                  ("diagnose", "nothing-like-it", "--pcap", "{pcap}", "--no-index"),
                                  ("diagnose", "nothing-like-it", "--pcap", "{pcap}")])
def test_no_such_call_points_to_voxops_calls(cli, pcap, args) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli(*(str(pcap) if a == "{pcap}" else a for a in args))
    assert code == 2 and out == ""
    assert "matches no call" in err and f"`voxops calls {pcap}` lists the calls" in err
    assert "stats --format json" not in err


def test_candidates_from_the_wire_are_inert(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pcap = write_capture(tmp_path / "hostile-ids.pcap", ESC_IDS)
    for args in (("ladder", pcap, "--call-id", "dup"), ("diagnose", "dup", "--pcap", pcap, "--no-index")):
        code, _, err = cli(*args)
        assert code == 2 and "matches 2 calls" in err
        assert raw_controls(err) == [], err
        assert len(re.findall(r"dup\\x1b\]0;title\\x07\\u202e-(?:first|second)", err)) == 2, err
