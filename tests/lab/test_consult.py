"""A drill that consults another voxops command (probe, certs, dns, diagnose) fails when
that command crashes, exits with an unexpected code or prints no JSON report: no lab needed,
the consulted command is replaced by a small program that misbehaves on purpose."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from voxops.lab import consult
from voxops.lab.drill import DrillContext, Load
from voxops.lab.drills import probe_names
from voxops.lab.report import Check, DrillReport, render_text, verdict
from voxops.text.safe_text import visible

FINDING = {"code": "cert-expiry", "severity": "critical", "message": "expires in 2 days", "runbook": "cert-expiry"}


def _fake_voxops(monkeypatch, tmp_path: Path, body: str) -> None:
    """`voxops ...` as consulted by a drill becomes this Python program."""
    script = tmp_path / "fake_voxops.py"
    script.write_text("import json, sys\n" + body + "\n")
    monkeypatch.setattr(consult, "VOXOPS", [sys.executable, str(script)])


def _context(tmp_path: Path) -> DrillContext:
    # the consult step only reads the spec path and writes checks and findings
    return DrillContext(
        lab=None, sup=None, topology=None, promise=None, promise_spec=tmp_path / "spec",  # type: ignore[arg-type]
        out=tmp_path, capture=tmp_path / "drill.pcapng", load=Load(),
    )  # fmt: skip


def _cert_check(ctx: DrillContext) -> Check:
    probe_names(ctx, ["certs"], {"cert-expiry"}, "cert-expiry")
    (check,) = ctx.checks
    return check


MISBEHAVING = {
    "a traceback and no output": "raise RuntimeError('probe blew up')",
    "internal error with a report": f"print(json.dumps({{'findings': [{FINDING!r}]}})); sys.exit(4)",
    "environment error": "print('voxops: error: openssl missing', file=sys.stderr); sys.exit(3)",
    "killed": "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
    "text instead of JSON": "print('all good')",
    "JSON null": "print('null')",
    "cut-off JSON": "print('{\"findings\": [')",
}


@pytest.mark.parametrize("body", list(MISBEHAVING.values()), ids=list(MISBEHAVING))
def test_a_probe_that_gives_no_report_fails_the_drill(monkeypatch, tmp_path, body) -> None:
    _fake_voxops(monkeypatch, tmp_path, body)
    ctx = _context(tmp_path)
    check = _cert_check(ctx)
    assert check.passed is False and check.measured == "no report"
    assert check.note and "voxops certs" in check.note
    assert verdict(ctx.checks) is False
    report = DrillReport(drill="cert-expiry", passed=verdict(ctx.checks), spec="s", fault="f", started=0,
                         duration_s=1, checks=ctx.checks)
    text = render_text(report)
    assert "FAILED" in text and "[FAIL] voxops certs names the fault" in text and visible(check.note) in text  # the probe's stderr, made inert


def test_the_reason_names_the_exit_code_and_stderr(monkeypatch, tmp_path) -> None:
    _fake_voxops(monkeypatch, tmp_path, MISBEHAVING["environment error"])
    check = _cert_check(_context(tmp_path))
    assert check.note == "voxops certs exited 3 (expected 0 or 1): voxops: error: openssl missing"


def test_a_probe_that_hangs_fails_the_drill_instead_of_stopping_it(monkeypatch, tmp_path) -> None:
    _fake_voxops(monkeypatch, tmp_path, "import time; time.sleep(30)")
    monkeypatch.setattr(consult, "run", _with_timeout(consult.run, 1.0))
    check = _cert_check(_context(tmp_path))
    assert check.passed is False and "timed out" in (check.note or "")


def _with_timeout(run, seconds: float):
    return lambda argv, **kw: run(argv, **{**kw, "timeout": seconds})


@pytest.mark.parametrize("code", [0, 1])
def test_a_probe_that_reports_the_fault_passes_the_check(monkeypatch, tmp_path, code) -> None:
    # the same path with a well-behaved probe: findings and exit 0 or 1 (findings at --fail-on)
    _fake_voxops(monkeypatch, tmp_path, f"print(json.dumps({{'endpoints': [{{'findings': [{FINDING!r}]}}]}})); sys.exit({code})")
    ctx = _context(tmp_path)
    check = _cert_check(ctx)
    assert check.passed is True and check.measured == "cert-expiry -> cert-expiry"
    assert [f.code for f in ctx.findings] == ["cert-expiry"] and verdict(ctx.checks) is True


def test_a_report_without_the_fault_fails_the_check(monkeypatch, tmp_path) -> None:
    _fake_voxops(monkeypatch, tmp_path, "print(json.dumps({'endpoints': []}))")
    check = _cert_check(_context(tmp_path))
    assert check.passed is False and check.measured == "no such finding"


def test_diagnose_that_crashes_gives_no_findings_and_the_reason(monkeypatch, tmp_path) -> None:
    _fake_voxops(monkeypatch, tmp_path, MISBEHAVING["a traceback and no output"])
    found, why = consult.diagnose("call-1", tmp_path / "c.pcap", tmp_path / "spec")
    assert found == [] and why and why.startswith("voxops diagnose exited 1 without a JSON report")
    assert "RuntimeError: probe blew up" in why


def test_a_check_that_could_not_run_fails_the_verdict() -> None:
    ran = Check(name="detection time", passed=True, measured="1 s", promise="<= 4 s")
    not_run = Check(name="voxops dns names the fault", passed=None, measured="not run", promise="a finding")
    assert verdict([ran]) is True
    assert verdict([ran, not_run]) is False
    assert verdict([]) is False


def test_the_consulted_command_is_this_voxops() -> None:
    data, why = consult.voxops_json(["runbook", "--list", "--format", "json"])
    assert why is None and json.dumps(data)
