"""Running SIPp for the lab: carrier simulators (UAS) and batches of calls (UAC)."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from voxops.lab.scenarios import CarrierMode, caller_scenario, carrier_scenario, write_media
from voxops.lab.supervisor import Supervisor


class CallOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid")

    call_id: str
    status: str = Field(description="final SIP status (200, 486, ...), 'timeout' or 'failed'")
    at: float = Field(description="unix time the outcome was logged")


class CallBatch(BaseModel):
    """What a batch of calls did, call by call and in totals."""

    model_config = ConfigDict(extra="forbid")

    target: str
    placed: int
    answered: int
    busy: int = Field(description="486 Busy Here answers")
    failed: int = Field(description="calls neither answered nor refused with 486")
    codes: dict[str, int]
    started: float
    ended: float
    calls: list[CallOutcome]

    @property
    def answered_call_ids(self) -> list[str]:
        return [c.call_id for c in self.calls if c.status == "200"]


def carrier_argv(scenario: Path, address: str, port: int, rtp_port: int, calls_log: Path) -> list[str]:
    # -aa: answer OPTIONS (the SBC's keepalive pings) and other out-of-call requests with 200
    return [
        "sipp", "-sf", str(scenario), "-i", address, "-p", str(port), "-mi", address,
        "-mp", str(rtp_port), "-aa", "-nostdin", "-trace_logs", "-log_file", str(calls_log),
    ]  # fmt: skip


def calls_seen(calls_log: Path) -> set[str]:
    """Call-IDs a carrier simulator has received an INVITE for."""
    try:
        text = calls_log.read_text(errors="replace")
    except OSError:
        return set()
    return {line.split()[0] for line in text.splitlines() if line.strip()}


def write_carrier_scenario(directory: Path, mode: CarrierMode, *, delay_ms: int = 3000) -> Path:
    audio, g729 = write_media(directory / "media")
    path = directory / "sipp" / f"carrier-{mode.value}.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(carrier_scenario(mode, audio=audio, g729=g729, delay_ms=delay_ms))
    return path


@dataclass
class CallRun:
    """A batch of calls in flight (see `start_calls`)."""

    sup: Supervisor
    name: str
    target: str
    count: int
    log: Path
    started: float
    limit_s: float

    def wait_answered(self, timeout_s: float = 20.0) -> bool:
        """Wait until the first call is answered (calls are flowing), SIPp ended, or the
        timeout passed; whether a call was answered."""
        proc = self.sup.procs[self.name]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(c.status == "200" for c in read_outcomes(self.log, self.started)):
                return True
            if proc.popen is None or proc.popen.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def wait(self) -> CallBatch:
        """Wait for SIPp to end (its own -timeout bounds it); every outcome is in its log.

        SIPp 3.6.1 can linger after its last call when RTP streams were cut short; past the
        limit it is stopped and the calls it never finished count as failed.
        """
        proc = self.sup.procs[self.name]
        assert proc.popen is not None
        try:
            proc.popen.wait(timeout=max(1.0, self.started + self.limit_s - time.time()))
        except subprocess.TimeoutExpired:
            pass
        finally:
            self.sup.stop(self.name)
        return read_batch(self.log, target=self.target, placed=self.count, started=self.started, ended=time.time())


def start_calls(
    sup: Supervisor,
    workdir: Path,
    *,
    name: str,
    source: str,
    source_port: int,
    target: str,
    service: str,
    count: int,
    rate: float,
    duration_s: float,
    rtp_port: int,
    answer_timeout_s: float = 15.0,
) -> CallRun:
    """Start placing `count` calls at `rate` per second, each held `duration_s`."""
    audio, _ = write_media(workdir / "media")
    scen = workdir / "sipp" / f"{name}.xml"
    scen.parent.mkdir(parents=True, exist_ok=True)
    scen.write_text(
        caller_scenario(audio=audio, hold_ms=int(duration_s * 1000), answer_timeout_ms=int(answer_timeout_s * 1000))
    )
    calls_log = workdir / "calls" / f"{name}.log"
    calls_log.parent.mkdir(parents=True, exist_ok=True)
    calls_log.unlink(missing_ok=True)
    limit = count / max(rate, 0.01) + duration_s + answer_timeout_s + 10
    argv = [
        "sipp", target, "-sf", str(scen), "-s", service, "-i", source, "-p", str(source_port),
        "-mi", source, "-mp", str(rtp_port), "-m", str(count), "-r", f"{rate:g}", "-l", str(max(count, 1)),
        "-nostdin", "-trace_logs", "-log_file", str(calls_log), "-timeout", f"{int(limit)}s",
    ]  # fmt: skip
    started = time.time()
    sup.start(name, argv, cwd=calls_log.parent)
    return CallRun(sup, name, target, count, calls_log, started, limit + 10)


def place_calls(sup: Supervisor, workdir: Path, **kwargs: Any) -> CallBatch:
    """`start_calls` and wait for every call to end."""
    return start_calls(sup, workdir, **kwargs).wait()


def read_outcomes(calls_log: Path, started: float) -> list[CallOutcome]:
    """The outcome of each call SIPp has logged so far (the last one per Call-ID)."""
    calls: dict[str, CallOutcome] = {}
    try:
        text = calls_log.read_text(errors="replace")
    except FileNotFoundError:
        return []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and "@" in parts[0] and parts[2].isdigit():
            at = started + int(parts[2]) / 1000  # SIPp's clock_tick: ms since it started
            calls[parts[0]] = CallOutcome(call_id=parts[0], status=parts[1], at=at)
    return list(calls.values())


def read_batch(calls_log: Path, *, target: str, placed: int, started: float, ended: float) -> CallBatch:
    outcomes = read_outcomes(calls_log, started)
    # A call SIPp gave up on without any final response (transport error, unexpected reply)
    missing = placed - len(outcomes)
    codes = Counter(c.status for c in outcomes)
    if missing > 0:
        codes["failed"] += missing
    answered = codes.get("200", 0)
    busy = codes.get("486", 0)
    return CallBatch(
        target=target,
        placed=placed,
        answered=answered,
        busy=busy,
        failed=placed - answered - busy,
        codes=dict(sorted(codes.items())),
        started=started,
        ended=ended,
        calls=outcomes,
    )
