"""A drill that consults another voxops check (probe, certs, dns, diagnose) fails when that
check raises or hands back no findings: no lab needed, the check is replaced by a function
that misbehaves on purpose. The real commands' JSON agrees with what a drill reads
in-process (one subprocess smoke test per family)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from voxops.errors import EnvironmentProblem
from voxops.findings import Finding, Severity
from voxops.lab import consult
from voxops.lab.checks import names_fault
from voxops.lab.context import DrillContext, Load
from voxops.lab.report import Check, DrillReport, render_text, verdict
from voxops.text.safe_text import visible

FINDING = Finding(code="cert-expiry", severity=Severity.critical, message="expires in 2 days", runbook="cert-expiry")


def _context(tmp_path: Path) -> DrillContext:
    # the consult step only reads the spec path and writes checks and findings
    return DrillContext(
        lab=None, sup=None, topology=None, promise=None, promise_spec=tmp_path / "spec",  # type: ignore[arg-type]
        out=tmp_path, capture=tmp_path / "drill.pcapng", load=Load(),
    )  # fmt: skip


def _cert_check(ctx: DrillContext, build) -> Check:
    names_fault(ctx, "voxops certs names the fault", consult.consulted("voxops certs", build), {"cert-expiry"},
                "cert-expiry")
    (check,) = ctx.checks
    return check


def _raise(exc: BaseException):
    def build():
        raise exc

    return build


MISBEHAVING = {
    "a bug": (_raise(RuntimeError("probe blew up")), "voxops certs raised RuntimeError: probe blew up"),
    "an environment error": (_raise(EnvironmentProblem("openssl missing")), "voxops certs failed: openssl missing"),
    "a report without findings": (lambda: {"endpoints": []}, "voxops certs gave a report without a list of findings"),
    "findings that are not findings": (lambda: SimpleNamespace(findings=[{"code": "cert-expiry"}]),
                                       "voxops certs gave a report without a list of findings"),
}


@pytest.mark.parametrize(("build", "why"), list(MISBEHAVING.values()), ids=list(MISBEHAVING))
def test_a_check_that_gives_no_report_fails_the_drill(tmp_path, build, why) -> None:
    ctx = _context(tmp_path)
    check = _cert_check(ctx, build)
    assert check.passed is False and check.measured == "no report" and check.note == why
    assert verdict(ctx.checks) is False
    report = DrillReport(drill="cert-expiry", passed=verdict(ctx.checks), spec="s", fault="f", started=0,
                         duration_s=1, checks=ctx.checks)
    text = render_text(report)
    assert "FAILED" in text and "[FAIL] voxops certs names the fault" in text and visible(why) in text


def test_ctrl_c_inside_a_consulted_check_stops_the_drill(tmp_path) -> None:
    with pytest.raises(KeyboardInterrupt):
        _cert_check(_context(tmp_path), _raise(KeyboardInterrupt()))


def test_a_check_that_reports_the_fault_passes(tmp_path) -> None:
    ctx = _context(tmp_path)
    check = _cert_check(ctx, lambda: SimpleNamespace(findings=[FINDING]))
    assert check.passed is True and check.measured == "cert-expiry -> cert-expiry"
    assert [f.code for f in ctx.findings] == ["cert-expiry"] and verdict(ctx.checks) is True


def test_a_report_without_the_fault_fails_the_check(tmp_path) -> None:
    check = _cert_check(_context(tmp_path), lambda: SimpleNamespace(findings=[]))
    assert check.passed is False and check.measured == "no such finding"


def test_diagnose_of_an_unreadable_capture_gives_no_findings_and_the_reason(tmp_path) -> None:
    pcap = tmp_path / "c.pcap"
    pcap.write_bytes(b"not a capture at all" * 10)
    found, why = consult.diagnose("call-1", pcap, tmp_path / "spec")
    assert found == [] and why and why.startswith("voxops diagnose failed:")


def test_a_check_that_could_not_run_fails_the_verdict() -> None:
    ran = Check(name="detection time", passed=True, measured="1 s", promise="<= 4 s")
    not_run = Check(name="voxops dns names the fault", passed=None, measured="not run", promise="a finding")
    assert verdict([ran]) is True
    assert verdict([ran, not_run]) is False
    assert verdict([]) is False


def test_a_check_that_must_name_the_node_fails_on_another_nodes_finding(tmp_path) -> None:
    relay = Finding(code="relay-drops-media", severity=Severity.critical, message="sbc-2 receives audio ...",
                    runbook="one-way-audio", evidence={"node": "sbc-2"})
    ctx = _context(tmp_path)
    names_fault(ctx, "names the relay", ([relay], None), {"relay-drops-media"}, "one-way-audio", node="sbc-1")
    names_fault(ctx, "names the relay", ([relay], None), {"relay-drops-media"}, "one-way-audio", node="sbc-2")
    # a finding that names the node in its message only (the probe's media-relay-down)
    down = Finding(code="media-relay-down", severity=Severity.critical, runbook="one-way-audio",
                   message="the media relay of sbc-2 (ng 127.0.9.2:2223) is down", evidence={"target": "sbc-2"})
    names_fault(ctx, "names the relay", ([down], None), {"media-relay-down"}, "one-way-audio", node="sbc-2")
    assert [c.passed for c in ctx.checks] == [False, True, True]
    assert ctx.checks[0].promise.endswith("naming sbc-1")
