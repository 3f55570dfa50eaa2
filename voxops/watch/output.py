"""What the watch writes as calls finish: JSON lines (rotated) and a compact live view."""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from pathlib import Path
from typing import TextIO

from voxops.analysis import kpi
from voxops.errors import EnvironmentProblem
from voxops.records.model import CallRecord
from voxops.text.fit import Column, elide, fit_table


class JsonLines:
    """One JSON object per finished call; a file is rotated at `max_bytes` (FILE.1 ... FILE.N)."""

    def __init__(self, target: str, *, max_bytes: int = 100 * 1024 * 1024, keep: int = 5) -> None:
        self.path = None if target == "-" else Path(target)
        self.max_bytes, self.keep = max_bytes, keep
        self.fh: TextIO = sys.stdout if self.path is None else self._open()

    def _open(self) -> TextIO:
        assert self.path is not None
        try:
            return open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - held open while watching
        except OSError as exc:
            raise EnvironmentProblem(f"{self.path}: cannot write: {exc.strerror}") from exc

    def write(self, record: CallRecord) -> None:
        self.fh.write(record.model_dump_json() + "\n")
        self.fh.flush()
        if self.path is not None and self.fh.tell() >= self.max_bytes:
            self._rotate()

    def _rotate(self) -> None:
        assert self.path is not None
        self.fh.close()
        for n in range(self.keep - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{n + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self.fh = self._open()

    def close(self) -> None:
        if self.path is not None:
            self.fh.close()


class LiveView:
    """Calls active, per-trunk ASR and the last findings, redrawn on a terminal."""

    def __init__(self, stream: TextIO, width: int = 80, every_s: float = 2.0) -> None:
        self.stream, self.width, self.every_s = stream, width, every_s
        self.last: deque[tuple[float, str, str, str]] = deque(maxlen=8)
        self.trunks: dict[str, list[int]] = {}  # seizures, answered
        self.drawn = 0.0

    def add(self, record: CallRecord) -> None:
        r = kpi.ratios([kpi.CallRecord(record.call_id, record.start, record.trunk, record.final_status, None, None)])
        t = self.trunks.setdefault(record.trunk or "unknown", [0, 0])
        t[0] += r.seizures
        t[1] += r.answered
        for f in record.findings:
            self.last.append((record.start, record.call_id, f.code, f.severity.value))

    def lines(self, active: int, packets: int, dropped: int) -> list[str]:
        head = f"voxops watch  calls active {active}  packets {packets}  dropped {dropped}"
        out = [elide(head, self.width)]
        rows = [[trunk, str(s), str(a), f"{100.0 * a / s:.1f}%" if s else "-"]
                for trunk, (s, a) in sorted(self.trunks.items())]
        cols = [Column("trunk", shrink_to=8, middle=True), Column("seizures", right=True),
                Column("answered", right=True), Column("ASR", right=True)]
        out += fit_table(cols, rows, self.width).lines
        if self.last:
            finding_rows = [[time.strftime("%H:%M:%S", time.gmtime(ts)), cid, code, sev]
                            for ts, cid, code, sev in self.last]
            cols = [Column("time"), Column("call", shrink_to=8), Column("finding", shrink_to=12),
                    Column("severity", drop=1)]
            out += ["", *fit_table(cols, finding_rows, self.width).lines]
        return out

    def draw(self, active: int, packets: int, dropped: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.drawn < self.every_s:
            return
        self.drawn = now
        clear = "\x1b[H\x1b[J" if self.stream.isatty() else ""
        self.stream.write(clear + "\n".join(self.lines(active, packets, dropped)) + "\n")
        self.stream.flush()
