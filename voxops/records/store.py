"""The call record store: SQLite (one file, the default) or PostgreSQL (shared by a fleet).

One row per call with the columns searches use, and the record's JSON. Numbers are kept
as their digits reversed, so "the number ends with these digits" is an index range scan
(`+1 555 0100`, `15550100` and `5550100` all find the same call); findings have their
own table indexed by code. Records older than the retention are deleted as new ones come.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxops.errors import EnvironmentProblem, InvalidInput
from voxops.records.model import CallRecord, digits

SCHEMA_VERSION = "1"
RETENTION_EVERY_S = 60.0
TAIL = 7  # digits of a number's end indexed exactly (a subscriber number)
MAX_CALL_S = 4 * 3600.0  # no record lasts longer (the watch's own bound): --since is an index range


@dataclass(slots=True)
class Query:
    number: list[str]
    since: float | None = None
    until: float | None = None
    trunk: str | None = None
    finding: str | None = None
    call_id: str | None = None
    limit: int = 100


INSERT_COLUMNS = "call_id, node, start, end_ts, trunk, from_rev, to_rev, from_tail, to_tail, final_status, record"


def number_columns(from_number: str, to_number: str) -> tuple[str, str, str, str]:
    """The reversed digits of both numbers, then their indexed tails."""
    return from_number[::-1], to_number[::-1], from_number[::-1][:TAIL], to_number[::-1][:TAIL]


def _safe(url: str) -> str:
    """The URL without a password."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def _tables(pg: bool) -> list[str]:
    key = "id BIGSERIAL PRIMARY KEY" if pg else "id INTEGER PRIMARY KEY"
    real = "DOUBLE PRECISION" if pg else "REAL"
    ctext = 'TEXT COLLATE "C"' if pg else "TEXT"
    return [
        f"CREATE TABLE IF NOT EXISTS calls ({key}, call_id {ctext} NOT NULL, node TEXT, start {real} NOT NULL, "
        f"end_ts {real} NOT NULL, trunk TEXT, from_rev {ctext} NOT NULL, to_rev {ctext} NOT NULL, "
        f"from_tail {ctext} NOT NULL, to_tail {ctext} NOT NULL, "
        "final_status INTEGER, record TEXT NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS call_findings (call BIGINT NOT NULL, code TEXT NOT NULL, start {real} NOT NULL)",
        "CREATE TABLE IF NOT EXISTS records_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS calls_start ON calls (start)",
        "CREATE INDEX IF NOT EXISTS calls_to ON calls (to_tail, start)",
        "CREATE INDEX IF NOT EXISTS calls_from ON calls (from_tail, start)",
        "CREATE INDEX IF NOT EXISTS calls_trunk ON calls (trunk, start)",
        "CREATE INDEX IF NOT EXISTS calls_call_id ON calls (call_id)",
        "CREATE INDEX IF NOT EXISTS call_findings_code ON call_findings (code, start)",
        "CREATE INDEX IF NOT EXISTS call_findings_call ON call_findings (call)",
        "CREATE INDEX IF NOT EXISTS call_findings_start ON call_findings (start)",
    ]


class RecordStore:
    """Writes and searches call records; `url` is a file path, sqlite:///PATH or postgresql://..."""

    def __init__(self, url: str, *, retention_s: float | None = None, create: bool = True) -> None:
        self.url = url
        self.retention_s = retention_s
        self.pg = url.startswith(("postgresql://", "postgres://"))
        self.pending = 0
        self.last_retention = 0.0
        self.conn: Any = self._connect(url, create)
        if create:
            self._create()

    def _connect(self, url: str, create: bool) -> Any:
        if self.pg:
            try:
                import psycopg
            except ImportError as exc:
                raise EnvironmentProblem("a PostgreSQL store needs the psycopg package") from exc
            try:
                conn = psycopg.connect(url, connect_timeout=10)
            except psycopg.Error as exc:
                raise EnvironmentProblem(f"cannot connect to the record store: {str(exc).strip()}") from exc
            if not create:
                try:
                    conn.execute("SELECT 1 FROM calls LIMIT 1")
                except psycopg.Error as exc:
                    conn.close()
                    raise InvalidInput(f"{_safe(url)}: not a call record store ({exc.sqlstate})") from exc
            return conn
        path = Path(url.removeprefix("sqlite:///").removeprefix("sqlite://"))
        if not create and not path.is_file():
            raise InvalidInput(f"{path}: no such call record store")
        try:
            db = sqlite3.connect(path, timeout=10, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            if not create:
                db.execute("SELECT 1 FROM calls LIMIT 1")
        except sqlite3.DatabaseError as exc:
            raise InvalidInput(f"{path}: not a call record store ({exc})") from exc
        return db

    def _sql(self, text: str) -> str:
        return text.replace("?", "%s") if self.pg else text

    def _create(self) -> None:
        cur = self.conn.cursor()
        for statement in _tables(self.pg):
            cur.execute(statement)
        cur.execute(self._sql("SELECT value FROM records_meta WHERE key = ?"), ("schema",))
        row = cur.fetchone()
        if row is None:
            cur.execute(self._sql("INSERT INTO records_meta (key, value) VALUES (?, ?)"), ("schema", SCHEMA_VERSION))
        elif row[0] != SCHEMA_VERSION:
            raise InvalidInput(f"{self.url}: call records of schema {row[0]}, this voxops reads {SCHEMA_VERSION}")
        self.conn.commit()

    def add(self, records: Sequence[CallRecord]) -> None:
        cur = self.conn.cursor()
        for r in records:
            row = (r.call_id, r.node, r.start, r.end, r.trunk, *number_columns(r.from_number, r.to_number),
                   r.final_status, r.model_dump_json())
            insert = f"INSERT INTO calls ({INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            if self.pg:
                cur.execute(self._sql(insert + " RETURNING id"), row)
                rowid = cur.fetchone()[0]
            else:
                cur.execute(insert, row)
                rowid = cur.lastrowid
            codes = r.finding_codes
            if codes:
                cur.executemany(self._sql("INSERT INTO call_findings (call, code, start) VALUES (?, ?, ?)"),
                                [(rowid, code, r.start) for code in codes])
        self.pending += len(records)

    def commit(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        if self.retention_s is not None and now - self.last_retention >= RETENTION_EVERY_S:
            self.last_retention = now
            self.expire(now - self.retention_s)
        self.conn.commit()
        self.pending = 0

    def expire(self, before: float) -> int:
        cur = self.conn.cursor()
        cur.execute(self._sql("DELETE FROM call_findings WHERE start < ?"), (before,))
        cur.execute(self._sql("DELETE FROM calls WHERE start < ?"), (before,))
        return int(cur.rowcount or 0)

    def search(self, q: Query) -> list[CallRecord]:
        where: list[str] = []
        args: list[object] = []
        numbers = [digits(n) for n in q.number if digits(n)]
        if q.number and not numbers:
            raise InvalidInput(f"--number {q.number[0]!r}: no digits to search for")
        span: list[str] = []
        span_args: list[object] = []
        if q.since is not None:
            span, span_args = ["end_ts >= ?", "start >= ?"], [q.since, q.since - MAX_CALL_S]
        if q.until is not None:
            span.append("start <= ?")
            span_args.append(q.until)
        for rev in (n[::-1] for n in numbers):  # each side of the OR an index range of its own
            sides = []
            for side in ("to", "from"):
                tail = (f"{side}_tail = ?", [rev[:TAIL]]) if len(rev) >= TAIL else (
                    f"{side}_tail >= ? AND {side}_tail < ?", [rev, rev + ":"])  # ':' sorts right after '9'
                sides.append(" AND ".join([tail[0], f"{side}_rev >= ? AND {side}_rev < ?", *span]))
                args += [*tail[1], rev, rev + ":", *span_args]
            where.append("((" + ") OR (".join(sides) + "))")
        if not numbers:
            where += span
            args += span_args
        if q.trunk is not None:
            where.append("trunk = ?")
            args.append(q.trunk)
        if q.call_id is not None:
            where.append("call_id >= ? AND call_id < ?")
            args += [q.call_id, q.call_id + "\U0010ffff"]
        if q.finding is not None:  # the finding's own index bounds the time too
            inner = ["code = ?"] + (["start >= ?"] if q.since is not None else []) + (
                ["start <= ?"] if q.until is not None else [])
            where.append(f"id IN (SELECT call FROM call_findings WHERE {' AND '.join(inner)})")
            args += [q.finding.strip().lower(), *([q.since - MAX_CALL_S] if q.since is not None else []),
                     *([q.until] if q.until is not None else [])]
        sql = "SELECT record FROM calls" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY start DESC LIMIT ?"
        cur = self.conn.cursor()
        cur.execute(self._sql(sql), (*args, q.limit))
        return [CallRecord.model_validate(json.loads(row[0])) for row in cur.fetchall()]

    def close(self) -> None:
        try:
            self.conn.commit()
        finally:
            self.conn.close()
