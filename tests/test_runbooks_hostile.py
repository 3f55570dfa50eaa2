"""`voxops runbook` with what a user's environment or clipboard may hold: a docs URL
that is really a browser flag, a query that is really a pasted log."""

from __future__ import annotations

import time

import pytest


@pytest.mark.parametrize("base", [
    "--remote-debugging-port=9222",
    "-incognito",
    "javascript:alert(1)",
    "file:///etc/passwd",
    "https://docs.example.org/voxops --new-window",
    "https://",
])
def test_open_refuses_a_docs_url_that_is_not_http(cli, monkeypatch, base) -> None:
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    monkeypatch.setenv("VOXOPS_DOCS_URL", base)
    code, out, err = cli("runbook", "503", "--open")
    assert code == 3, err
    assert opened == [] and out == ""
    assert len(err.strip().splitlines()) <= 2 and "VOXOPS_DOCS_URL" in err  # the error and its hint


def test_open_takes_an_http_docs_url(cli, monkeypatch) -> None:
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    monkeypatch.setenv("VOXOPS_DOCS_URL", "http://127.0.0.1:8000")
    assert cli("runbook", "503", "--open")[0] == 0
    assert opened == ["http://127.0.0.1:8000/runbooks/503-spike/"]


def filler(n: int) -> list[str]:
    return [f"qx{i % 97}zv" for i in range(n)]  # words no runbook uses


def test_a_pasted_log_is_answered_quickly_from_its_first_words(cli) -> None:
    started = time.monotonic()
    code, out, err = cli("runbook", "one", "way", "audio", *filler(3000), "--format", "json")
    elapsed = time.monotonic() - started
    assert code == 0, err
    assert '"id": "one-way-audio"' in out
    assert elapsed < 5, f"{elapsed:.1f} s"


def test_a_long_query_matching_nothing_is_one_short_line(cli) -> None:
    started = time.monotonic()
    code, _, err = cli("runbook", *filler(3000))
    elapsed = time.monotonic() - started
    assert code == 2
    assert "no runbook matches" in err and len(err) < 400
    assert elapsed < 5, f"{elapsed:.1f} s"
