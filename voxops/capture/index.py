"""Index of a capture: SIP messages by Call-ID plus per-call media summaries.

Built once (one full scan), reused while the capture is unchanged, rebuilt when it
changes. The index is an SQLite file in the user's cache
(`$XDG_CACHE_HOME/voxops/index/`, else `~/.cache/voxops/index/`, or `$VOXOPS_INDEX_DIR`;
folder 0700, files 0600), never next to the capture: it holds every call's raw SIP, and a file beside a
capture is as much the sender's as the capture itself. It is keyed on the capture's
resolved path, size, modification time and a hash of its first and last 64 KiB.

An index is a cache, not a source of truth: it is opened read-only with a fixed schema
(exact tables, no views or triggers), bounded reads and a deadline, and every value is
checked. Any doubt raises `IndexDoubt` (or `open_index` returns None) and the caller
rebuilds from the capture. Media summaries are opaque JSON text supplied by the caller.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import sqlite3
import stat
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from voxops.capture.records import SipPacket
from voxops.capture.sip import parse_sip

SCHEMA = 2
SUFFIX = ".voxidx"
EDGE = 64 * 1024  # bytes hashed at each end of the capture
DEADLINE_S = 5.0  # all reads of one opened index, schema check included
MAX_LEGS = 64  # Call-IDs in one correlated group
MAX_ROWS = 100_000  # SIP messages of one group
MAX_SIP_BYTES = 64 * 1024 * 1024  # raw SIP of one group
MAX_VALUE = 16 * 1024 * 1024  # any one text or blob (SQLite refuses larger ones)
MAX_NAME = 1024  # a Call-ID, an address
TRANSPORTS = frozenset({"udp", "tcp", "tls", "ws", "wss", "sctp"})
_TABLES = (
    ("meta", "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"),
    ("sip", "CREATE TABLE sip (call_id TEXT NOT NULL, frame INTEGER NOT NULL, ts REAL NOT NULL,"
            " src TEXT NOT NULL, sport INTEGER NOT NULL, dst TEXT NOT NULL, dport INTEGER NOT NULL,"
            " transport TEXT NOT NULL, raw BLOB NOT NULL)"),
    ("calls", "CREATE TABLE calls (call_id TEXT PRIMARY KEY, start REAL NOT NULL, grp TEXT NOT NULL,"
              " media TEXT NOT NULL)"),
)
_INDEXES = (
    ("sip_call", "sip", "CREATE INDEX sip_call ON sip (call_id)"),
    ("calls_grp", "calls", "CREATE INDEX calls_grp ON calls (grp)"),
)
# sqlite_master exactly as write_index leaves it: anything else (a view, a trigger, an
# extra column or index) is not an index voxops wrote
EXPECTED_SCHEMA = frozenset(
    {("table", name, name, sql) for name, sql in _TABLES}
    | {("index", name, table, sql) for name, table, sql in _INDEXES}
    | {("index", f"sqlite_autoindex_{table}_1", table, None) for table in ("meta", "calls")}
)

Warn = Callable[[str], None]


class IndexDoubt(Exception):
    """The index cannot be trusted: the caller rebuilds it from the capture."""


def cache_dir() -> Path:
    """$VOXOPS_INDEX_DIR, else `index/` in voxops' cache ($VOXOPS_CACHE_DIR, else
    $XDG_CACHE_HOME/voxops, else ~/.cache/voxops)."""
    chosen = os.environ.get("VOXOPS_INDEX_DIR")
    if chosen:
        return Path(chosen).absolute()
    voxops_cache = os.environ.get("VOXOPS_CACHE_DIR")
    if voxops_cache:
        return Path(voxops_cache).absolute() / "index"
    xdg = os.environ.get("XDG_CACHE_HOME") or ""
    root = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return root / "voxops" / "index"


def writer_tag() -> str:
    """The index layout and the voxops release that wrote it: a new release re-reads
    captures, so a reader fix never leaves an old result in place."""
    import voxops

    return f"{SCHEMA}/{voxops.__version__}"


def fingerprint(capture: Path) -> str:
    """Resolved path, size, mtime and a hash of the first and last 64 KiB of the capture."""
    capture = capture.resolve()
    with capture.open("rb") as fh:
        st = os.fstat(fh.fileno())
        h = hashlib.sha256(f"{capture}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
        h.update(fh.read(EDGE))
        fh.seek(max(0, st.st_size - EDGE))
        h.update(fh.read(EDGE))
    return h.hexdigest()


def index_path(capture: Path) -> Path:
    """Where the index of `capture` lives: in the cache, named after its resolved path."""
    digest = hashlib.sha256(str(capture.resolve()).encode()).hexdigest()[:32]
    return cache_dir() / f"{digest}{SUFFIX}"


def _private(st: os.stat_result) -> bool:
    return st.st_uid == os.geteuid() and not st.st_mode & 0o077


def _size_cap(capture: Path) -> int:
    # raw SIP is at most the capture (decompressed: gzip captures get room for that)
    return 32 * capture.stat().st_size + MAX_VALUE


def _check_file(path: Path, capture: Path) -> None:
    folder, st = os.lstat(path.parent), os.lstat(path)
    if not stat.S_ISDIR(folder.st_mode) or not _private(folder):
        raise IndexDoubt(f"{path.parent} is not a private folder of this user")
    if not stat.S_ISREG(st.st_mode) or not _private(st):
        raise IndexDoubt("not a regular file readable by this user only")
    if st.st_size > _size_cap(capture):
        raise IndexDoubt(f"{st.st_size} bytes: larger than any index of this capture")


def _connect_read_only(path: Path, deadline: float) -> sqlite3.Connection:
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None)
    try:
        db.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
        db.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE)
        db.setlimit(sqlite3.SQLITE_LIMIT_EXPR_DEPTH, 100)
        defensive = getattr(sqlite3, "SQLITE_DBCONFIG_DEFENSIVE", None)
        if defensive is not None and hasattr(db, "setconfig"):  # Python 3.12+
            db.setconfig(defensive, True)
        for pragma in ("trusted_schema=OFF", "cell_size_check=ON", "mmap_size=0", "cache_size=-4096",
                       "query_only=ON"):
            db.execute(f"PRAGMA {pragma}")
    except BaseException:
        db.close()
        raise
    return db


def _check_schema(db: sqlite3.Connection, capture: Path) -> str | None:
    """None when the index was written by this version for this very capture, else why not."""
    found = db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master LIMIT 16").fetchall()
    if set(found) != EXPECTED_SCHEMA or len(found) != len(EXPECTED_SCHEMA):
        raise IndexDoubt("unexpected schema")
    meta = dict(db.execute("SELECT key, value FROM meta LIMIT 4").fetchall())
    if meta.keys() != {"schema", "fingerprint"}:
        raise IndexDoubt("unexpected metadata")
    if meta["schema"] != writer_tag():
        return "written by another version"
    if meta["fingerprint"] != fingerprint(capture):
        return "the capture changed"
    return None


@dataclass
class IndexedCall:
    """One call's group as the index holds it: Call-IDs, SIP messages, media JSON blobs."""

    group: list[str]
    sip: list[SipPacket]
    media: list[str]


def _text(value: object, what: str, limit: int = MAX_NAME) -> str:
    if not isinstance(value, str) or not value or len(value) > limit or not value.isprintable():
        raise IndexDoubt(f"bad {what}")
    return value


def _number(value: object, what: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not low <= value <= high:
        raise IndexDoubt(f"{what} out of range")
    return value


def _packet(row: tuple[object, ...]) -> SipPacket:
    call_id, frame, ts, src, sport, dst, dport, transport, raw = row
    if not isinstance(raw, bytes) or not isinstance(frame, int) or not isinstance(ts, float):
        raise IndexDoubt("bad SIP row")
    msg = parse_sip(raw)
    if msg is None or msg.call_id != call_id:
        raise IndexDoubt(f"frame {frame}: stored SIP message does not parse as its call")
    if transport not in TRANSPORTS:
        raise IndexDoubt(f"frame {frame}: unknown transport")
    return SipPacket(
        int(_number(frame, "frame", 1, 2**48)), _number(ts, "timestamp", -(2.0**40), 2.0**40),
        _text(src, "address"), int(_number(sport, "port", 0, 65535)),
        _text(dst, "address"), int(_number(dport, "port", 0, 65535)), str(transport), raw, msg,
    )


@dataclass
class CaptureIndex:
    path: Path
    db: sqlite3.Connection
    deadline: float  # time.monotonic() past which no read is trusted to end

    def matching(self, prefix: str, limit: int) -> list[str]:
        """Call-IDs equal to or starting with `prefix` (at most `limit`), the exact one first."""
        rows = self.db.execute(
            "SELECT call_id FROM calls WHERE substr(call_id, 1, ?) = ? ORDER BY call_id != ?, start LIMIT ?",
            (len(prefix), prefix, prefix, limit)).fetchall()
        return [_text(r[0], "Call-ID") for r in rows]

    def call(self, call_id: str) -> IndexedCall | None:
        """The call's group, SIP and media; None when the index has no such call."""
        row = self.db.execute("SELECT grp FROM calls WHERE call_id = ?", (call_id,)).fetchone()
        if row is None:
            return None
        legs = self.db.execute("SELECT call_id, media FROM calls WHERE grp = ? LIMIT ?",
                               (_text(row[0], "group"), MAX_LEGS + 1)).fetchall()
        if len(legs) > MAX_LEGS or call_id not in {leg[0] for leg in legs}:
            raise IndexDoubt("inconsistent call group")
        group = [_text(leg[0], "Call-ID") for leg in legs]
        media = [_text(leg[1], "media summary", MAX_VALUE) for leg in legs]
        marks = ",".join("?" * len(group))
        rows = self.db.execute(
            f"SELECT call_id, frame, ts, src, sport, dst, dport, transport, raw FROM sip"
            f" WHERE call_id IN ({marks}) ORDER BY frame LIMIT ?", [*group, MAX_ROWS + 1])
        packets: list[SipPacket] = []
        size = 0
        for sip_row in rows:
            packets.append(_packet(sip_row))
            size += len(packets[-1].raw)
            if len(packets) > MAX_ROWS or size > MAX_SIP_BYTES:
                raise IndexDoubt("more SIP for one call than any capture holds")
        if time.monotonic() > self.deadline:
            raise IndexDoubt(f"reading took longer than {DEADLINE_S:g} s")
        if not any(p.msg.call_id == call_id for p in packets):
            raise IndexDoubt("a call without SIP messages")
        return IndexedCall(group, packets, media)

    def close(self) -> None:
        self.db.close()


def open_index(capture: Path, warn: Warn | None = None) -> CaptureIndex | None:
    """The index of `capture` when one exists, is sound and still matches the file, else None.

    `warn` hears why an existing index was not used, unless it was merely out of date.
    """
    path = index_path(capture)
    if not path.exists():
        return None
    db = None
    deadline = time.monotonic() + DEADLINE_S
    try:
        _check_file(path, capture)
        db = _connect_read_only(path, deadline)
        stale = _check_schema(db, capture)
    except (IndexDoubt, sqlite3.Error, OSError, ValueError) as exc:
        if db is not None:
            db.close()
        if warn is not None:
            warn(f"capture index {path} not used ({str(exc) or type(exc).__name__}); rebuilding it")
        return None
    if stale:
        db.close()
        return None
    return CaptureIndex(path, db, deadline)


def private_cache_dir() -> Path:
    """The index folder, created 0700 whatever the umask; refused when not this user's own."""
    folder = cache_dir()
    for part in (folder.parent, folder):
        with contextlib.suppress(FileExistsError):
            part.mkdir(mode=0o700, parents=True)
    st = os.lstat(folder)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        raise PermissionError(f"{folder} is not a folder of this user")
    if st.st_mode & 0o077:
        os.chmod(folder, 0o700)
    return folder


def write_index(
    capture: Path,
    sip: list[SipPacket],
    calls: Iterable[tuple[str, float, str, str]],
    key: str | None = None,
) -> Path:
    """Write the index: every SIP packet, and per call (call_id, start, group, media JSON).

    `key` is the capture's fingerprint taken before it was read (so a capture that
    changes during the scan is not filed under its new state); taken now when None.
    """
    key = key or fingerprint(capture)
    path = index_path(capture)
    fd, tmp_name = tempfile.mkstemp(dir=private_cache_dir(), prefix=path.stem, suffix=".tmp")
    os.close(fd)  # created 0600; SQLite writes into it
    tmp = Path(tmp_name)
    try:
        db = sqlite3.connect(tmp, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=OFF")  # a new file, renamed into place when complete
            db.execute("BEGIN")
            for _name, sql in _TABLES:
                db.execute(sql)
            db.executemany(
                "INSERT INTO sip VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((p.msg.call_id, p.frame, float(p.ts), p.src, p.sport, p.dst, p.dport, p.transport, p.raw)
                 for p in sip if p.msg.call_id is not None),
            )
            db.executemany("INSERT OR REPLACE INTO calls VALUES (?, ?, ?, ?)", calls)
            for _name, _table, sql in _INDEXES:
                db.execute(sql)
            db.executemany("INSERT INTO meta VALUES (?, ?)", [("schema", writer_tag()), ("fingerprint", key)])
            db.execute("COMMIT")
        finally:
            db.close()
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
