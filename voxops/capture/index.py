"""Sidecar index of a capture: SIP messages by Call-ID plus per-call media summaries.

Built once (one full scan), reused while the capture is unchanged, rebuilt when it
changes. The index is an SQLite file next to the capture (`CAPTURE.voxidx`), or under
`$XDG_CACHE_HOME/voxops/index/` when that folder is not writable. A capture is "the
same" when its size, modification time and a hash of its first and last MiB match.
Media summaries are opaque JSON text supplied by the caller (one blob per Call-ID).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from voxops.capture.records import SipPacket
from voxops.capture.sip import parse_sip

SCHEMA = 1
SUFFIX = ".voxidx"
_EDGE = 1 << 20


def fingerprint(path: Path) -> str:
    """Size, mtime and a hash of the first and last MiB: cheap even for huge captures."""
    st = path.stat()
    h = hashlib.sha256(f"{st.st_size}:{st.st_mtime_ns}".encode())
    with path.open("rb") as fh:
        h.update(fh.read(_EDGE))
        if st.st_size > 2 * _EDGE:
            fh.seek(st.st_size - _EDGE)
            h.update(fh.read(_EDGE))
    return h.hexdigest()


def index_path(capture: Path) -> Path:
    """Where the index of `capture` lives: next to it when the folder is writable (a folder
    with no write bit counts as read-only even for root, so shared captures stay clean)."""
    capture = capture.resolve()
    folder = capture.parent
    if os.access(folder, os.W_OK) and folder.stat().st_mode & 0o222:
        return capture.with_name(capture.name + SUFFIX)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "voxops" / "index"
    digest = hashlib.sha256(str(capture).encode()).hexdigest()[:24]
    return base / f"{digest}{SUFFIX}"


@dataclass
class CaptureIndex:
    path: Path
    db: sqlite3.Connection

    def call_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT call_id FROM calls ORDER BY start")]

    def group_of(self, call_id: str) -> list[str]:
        """The Call-ID and its correlated legs, or [] when unknown."""
        row = self.db.execute("SELECT grp FROM calls WHERE call_id = ?", (call_id,)).fetchone()
        if row is None:
            return []
        return [r[0] for r in self.db.execute("SELECT call_id FROM calls WHERE grp = ?", (row[0],))]

    def sip(self, call_ids: Iterable[str]) -> list[SipPacket]:
        out = []
        ids = list(call_ids)
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT frame, ts, src, sport, dst, dport, transport, raw FROM sip WHERE call_id IN ({marks})"
            " ORDER BY frame",
            ids,
        )
        for frame, ts, src, sport, dst, dport, transport, raw in rows:
            msg = parse_sip(bytes(raw))
            if msg is not None:
                out.append(SipPacket(frame, ts, src, sport, dst, dport, transport, bytes(raw), msg))
        return out

    def media(self, call_ids: Iterable[str]) -> list[str]:
        ids = list(call_ids)
        marks = ",".join("?" * len(ids))
        return [r[0] for r in self.db.execute(f"SELECT media FROM calls WHERE call_id IN ({marks})", ids)]

    def close(self) -> None:
        self.db.close()


def open_index(capture: Path) -> CaptureIndex | None:
    """The index of `capture` when it exists and still matches the file, else None."""
    path = index_path(capture)
    if not path.exists():
        return None
    try:
        db = sqlite3.connect(path)
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError:
        return None
    if meta.get("schema") != str(SCHEMA) or meta.get("fingerprint") != fingerprint(capture):
        db.close()
        return None
    return CaptureIndex(path, db)


def write_index(
    capture: Path,
    sip: list[SipPacket],
    calls: list[tuple[str, float, str, str]],
) -> Path:
    """Write the index: every SIP packet, and per call (call_id, start, group, media JSON)."""
    path = index_path(capture)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    try:
        db.executescript(
            """
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
            CREATE TABLE sip (call_id TEXT, frame INTEGER, ts REAL, src TEXT, sport INTEGER,
                              dst TEXT, dport INTEGER, transport TEXT, raw BLOB);
            CREATE TABLE calls (call_id TEXT PRIMARY KEY, start REAL, grp TEXT, media TEXT);
            """
        )
        db.executemany(
            "INSERT INTO sip VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((p.msg.call_id, p.frame, p.ts, p.src, p.sport, p.dst, p.dport, p.transport, p.raw)
             for p in sip if p.msg.call_id is not None),
        )
        db.executemany("INSERT OR REPLACE INTO calls VALUES (?, ?, ?, ?)", calls)
        db.execute("CREATE INDEX sip_call ON sip (call_id)")
        db.execute("CREATE INDEX calls_grp ON calls (grp)")
        db.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [("schema", str(SCHEMA)), ("fingerprint", fingerprint(capture)), ("capture", str(capture))],
        )
        db.commit()
    finally:
        db.close()
    os.replace(tmp, path)
    return path
