"""The suite's own guards: in CI (CI=true) a missing peer, module or public sample capture
fails the test that needs it instead of skipping it; locally it skips with the reason."""

from __future__ import annotations

import pytest

from tests import conftest

Failed = pytest.fail.Exception
Skipped = pytest.skip.Exception

MISSING = [
    ("shared_pcap", "sip-rtp-ilbc.pcap", "not present"),
    ("need_tool", "voxops-no-such-tool", "not installed"),
    ("need_module", "voxops_no_such_module", "not installed"),
]


@pytest.fixture
def no_shared_pcaps(monkeypatch, tmp_path):
    monkeypatch.setattr(conftest, "SHARED_PCAPS", tmp_path / "shared" / "pcaps")


@pytest.mark.parametrize(("guard", "name", "reason"), MISSING, ids=[m[0] for m in MISSING])
def test_missing_in_ci_fails(monkeypatch, no_shared_pcaps, guard, name, reason) -> None:
    monkeypatch.setattr(conftest, "IN_CI", True)
    with pytest.raises((Failed, Skipped), match=reason) as outcome:
        getattr(conftest, guard)(name)
    assert outcome.type is Failed, f"{guard} skips in CI"


@pytest.mark.parametrize(("guard", "name", "reason"), MISSING, ids=[m[0] for m in MISSING])
def test_missing_locally_skips_with_the_reason(monkeypatch, no_shared_pcaps, guard, name, reason) -> None:
    monkeypatch.setattr(conftest, "IN_CI", False)
    with pytest.raises((Failed, Skipped), match=reason) as outcome:
        getattr(conftest, guard)(name)
    assert outcome.type is Skipped


def test_shared_captures_folder_can_be_pointed_elsewhere(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("VOXOPS_SHARED_PCAPS", str(tmp_path))
    assert conftest.shared_pcaps_dir() == tmp_path
    monkeypatch.delenv("VOXOPS_SHARED_PCAPS")
    assert conftest.shared_pcaps_dir().parts[-2:] == ("shared", "pcaps")


def test_a_present_capture_is_returned(monkeypatch, tmp_path) -> None:
    (tmp_path / "x.pcap").write_bytes(b"\xd4\xc3\xb2\xa1")
    monkeypatch.setattr(conftest, "SHARED_PCAPS", tmp_path)
    monkeypatch.setattr(conftest, "IN_CI", True)
    assert conftest.shared_pcap("x.pcap") == tmp_path / "x.pcap"
