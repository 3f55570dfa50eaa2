"""The other voxops checks a drill consults: probe (and probe --call), certs, dns, diagnose.

They run in this process, through the same functions their commands call, and hand back
the findings of the report they built. A check that raises (a bug, a missing tool, an
unreadable capture) gives no answer: the drill records why and fails, it never reads a
crash as "no finding". Only the ladder picture is drawn by the real `voxops ladder`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from voxops.errors import VoxopsError
from voxops.findings import Finding
from voxops.proc import run

Consulted = tuple[list[Finding], str | None]


def consulted(what: str, build: Callable[[], object]) -> Consulted:
    """(the findings of build()'s report, None), or ([], why there is no answer)."""
    try:
        report = build()
    except VoxopsError as exc:
        return [], f"{what} failed: {exc}"
    except Exception as exc:  # noqa: BLE001 - a crashing check fails the drill, whatever it raised
        return [], f"{what} raised {type(exc).__name__}: {exc}"
    findings = getattr(report, "findings", None)
    if not isinstance(findings, list) or not all(isinstance(f, Finding) for f in findings):
        return [], f"{what} gave a report without a list of findings"
    return list(findings), None


def probe(spec: Path, target: str | None) -> Consulted:
    """`voxops probe SPEC --once --target TARGET`."""

    def build() -> object:
        from voxops.ops.probe import ProbeRun

        session = ProbeRun(spec, target=target, timeout=2.0, prometheus=None)
        session.monitor.settle()
        return session.report()

    return consulted("voxops probe", build)


def call(spec: Path, target: str | None, source: str | None = None) -> Consulted:
    """`voxops probe SPEC --call --target TARGET`."""
    from voxops.probes.call_check import check_calls

    return consulted("voxops probe --call", lambda: check_calls(spec, only=target, source=source, seconds=2.0))


def certs(spec: Path) -> Consulted:
    from voxops.ops.certs import check_certs_spec

    return consulted("voxops certs", lambda: check_certs_spec(spec))


def dns(spec: Path) -> Consulted:
    from voxops.ops.dns import check_dns_spec

    return consulted("voxops dns", lambda: check_dns_spec(spec))


def diagnose(call_id: str, pcap: Path, spec: Path) -> Consulted:
    """`voxops diagnose CALL_ID --pcap PCAP --spec SPEC`."""

    from voxops.ops.diagnose import diagnose as diagnose_op

    return consulted("voxops diagnose", lambda: diagnose_op(pcap, call_id, spec=spec, use_index=True, audio=True,
                                                            tls_keylog=None, warn=lambda _msg: None))


def ladder_png(pcap: Path, call_id: str, out: Path, spec: Path) -> str | None:
    """Draw the call's SIP ladder as PNG with `voxops ladder`; the path, or None."""
    cp = run(
        [sys.executable, "-m", "voxops", "ladder", str(pcap), "--call-id", call_id, "--format", "png",
         "--output", str(out), "--spec", str(spec)],
        timeout=120,
        check=False,
    )
    return str(out) if cp.returncode == 0 and out.exists() else None
