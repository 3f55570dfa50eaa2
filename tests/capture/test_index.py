"""The capture index: where it lives, who may read it, and that nothing in it is believed
unless it is exactly what voxops wrote for this very capture."""

from __future__ import annotations

import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from voxops.analysis.loader import analyse_capture, build_index, call_from_index
from voxops.capture.index import fingerprint, index_path, open_index, writer_tag

DATA = Path(__file__).resolve().parent.parent / "data" / "diagnosis"
REPO = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def clean(tmp_path) -> tuple[Path, str]:
    """A private copy of a capture holding one call answered 200, and its Call-ID."""
    pcap = tmp_path / "captures" / "clean.pcap"
    pcap.parent.mkdir()
    shutil.copy(DATA / "clean.pcap", pcap)
    return pcap, analyse_capture(pcap).dialogs[0].call_id


def diagnose(pcap: Path, call_id: str, *extra: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`voxops diagnose` in its own process, limited to 1 GiB of address space."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    return subprocess.run(
        [sys.executable, "-m", "voxops", "diagnose", call_id, "--pcap", str(pcap), "--format", "json", *extra],
        capture_output=True, text=True, timeout=timeout, preexec_fn=limit, cwd=REPO,
    )


def write_db(path: Path, script: str, meta: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.executescript(script)
    db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
    db.commit()
    db.close()
    path.chmod(0o600)


def forge_status(index: Path, status: bytes) -> None:
    """Rewrite every final response stored in an index into `status`."""
    db = sqlite3.connect(index)
    for rowid, raw in db.execute("SELECT rowid, raw FROM sip").fetchall():
        if raw.startswith(b"SIP/2.0 200 "):
            db.execute("UPDATE sip SET raw = ? WHERE rowid = ?", (raw.replace(b"SIP/2.0 200 OK", status, 1), rowid))
    db.commit()
    db.close()


def test_index_round_trip_and_invalidation(clean):
    pcap, cid = clean
    analysis = analyse_capture(pcap)
    path = build_index(pcap, analysis)
    assert path == index_path(pcap) and path.parent == Path(os.environ["VOXOPS_INDEX_DIR"])
    assert not list(pcap.parent.glob("*.voxidx"))  # nothing lands next to the capture
    dialogs, streams = call_from_index(pcap, cid)
    assert [d.call_id for d in dialogs] == [cid]
    assert [p.frame for p in dialogs[0].messages] == [p.frame for p in analysis.dialogs[0].messages]
    assert sorted(s.ssrc for s in streams) == sorted(s.ssrc for s in analysis.streams)
    shutil.copy(DATA / "pt18.pcap", pcap)  # another capture under the same name
    assert open_index(pcap) is None


def test_index_of_another_release_is_not_trusted(clean, monkeypatch):
    """A reader fix ships in a new release: its indexes of old captures are rebuilt."""
    pcap, cid = clean
    build_index(pcap, analyse_capture(pcap))
    assert open_index(pcap) is not None
    monkeypatch.setattr("voxops.__version__", "999.0.0")
    assert open_index(pcap) is None


def test_index_is_private_whatever_the_umask(clean, tmp_path, monkeypatch):
    """By default in $XDG_CACHE_HOME/voxops/index: folders 0700, files 0600."""
    monkeypatch.delenv("VOXOPS_INDEX_DIR")
    monkeypatch.delenv("VOXOPS_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    pcap, _ = clean
    pcap.chmod(0o644)
    old = os.umask(0o022)
    try:
        path = build_index(pcap, analyse_capture(pcap))
    finally:
        os.umask(old)
    assert path.parent == tmp_path / "xdg" / "voxops" / "index"
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert path.parent.parent.stat().st_mode & 0o777 == 0o700


def test_loose_cache_folder_is_tightened_and_loose_index_not_trusted(clean):
    pcap, cid = clean
    path = build_index(pcap, analyse_capture(pcap))
    path.chmod(0o644)
    assert open_index(pcap) is None
    path.parent.chmod(0o755)
    path.chmod(0o600)
    assert open_index(pcap) is None
    build_index(pcap, analyse_capture(pcap))
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert call_from_index(pcap, cid) is not None


def test_stale_index_same_size_and_mtime_other_last_block(tmp_path):
    """A capture rewritten in place (same size, same mtime) near its end is read again."""
    pcap = tmp_path / "big.pcap"
    raw = (DATA / "clean.pcap").read_bytes()
    with pcap.open("wb") as fh:  # 1.5 MiB: the first and last blocks do not overlap
        fh.write(raw)
        while fh.tell() < 3 << 19:
            fh.write(raw[24:])
    build_index(pcap, analyse_capture(pcap))
    assert open_index(pcap) is not None
    before = pcap.stat()
    with pcap.open("r+b") as fh:
        fh.seek(before.st_size - 100)
        fh.write(b"\xff" * 8)
    os.utime(pcap, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert pcap.stat().st_size == before.st_size and pcap.stat().st_mtime_ns == before.st_mtime_ns
    assert open_index(pcap) is None


def test_forged_index_next_to_the_capture_is_ignored(clean):
    """An index shipped beside a capture claims 503 for a call answered 200."""
    pcap, cid = clean
    honest = build_index(pcap, analyse_capture(pcap))
    forged = pcap.with_name(pcap.name + ".voxidx")
    shutil.move(honest, forged)
    forge_status(forged, b"SIP/2.0 503 Service Unavailable")
    done = diagnose(pcap, cid)
    assert done.returncode in (0, 1), done.stderr
    assert json.loads(done.stdout)["final_status"] == 200


def test_recursive_view_index_is_refused_quickly(clean):
    """`calls` as a recursive view: reading it would never end."""
    pcap, cid = clean
    script = """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE sip (call_id, frame, ts, src, sport, dst, dport, transport, raw);
        CREATE VIEW calls (call_id, start, grp, media) AS
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)
            SELECT printf('%d', i), i, 'g', zeroblob(1000000) FROM n;
    """
    meta = {"schema": writer_tag(), "fingerprint": fingerprint(pcap)}
    for where in (index_path(pcap), pcap.with_name(pcap.name + ".voxidx")):
        write_db(where, script, meta)
    done = diagnose(pcap, cid, timeout=30)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    assert json.loads(done.stdout)["final_status"] == 200


def tamper(index: Path, sql: str) -> None:
    db = sqlite3.connect(index)
    db.executescript(sql)
    db.commit()
    db.close()


MALFORMED = {
    "media-not-a-stream": "UPDATE calls SET media = '[{\"ssrc\": \"many\"}]'",
    "media-not-json": "UPDATE calls SET media = '[{'",
    "media-negative-packets": "UPDATE calls SET media = replace(media, '\"packets\": ', '\"packets\": -')",
    "port-out-of-range": "UPDATE sip SET sport = 70000",
    "frame-as-text": "UPDATE sip SET frame = 'one'",
    "sip-of-another-call": "UPDATE sip SET call_id = 'x' || call_id",
    "extra-trigger": "CREATE TRIGGER t AFTER INSERT ON sip BEGIN DELETE FROM calls; END",
    "extra-column": "ALTER TABLE calls ADD COLUMN verdict TEXT",
    "old-schema": "UPDATE meta SET value = '1' WHERE key = 'schema'",
    "no-metadata": "DELETE FROM meta",
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_index_is_rebuilt_not_fatal(cli, clean, kind):
    pcap, cid = clean
    expected = cli("diagnose", cid, "--pcap", pcap, "--format", "json", "--no-index")
    path = build_index(pcap, analyse_capture(pcap))
    tamper(path, MALFORMED[kind])
    code, out, err = cli("diagnose", cid, "--pcap", pcap, "--format", "json")
    assert code == expected[0] and json.loads(out) == json.loads(expected[1]), err
    assert "Traceback" not in err and "validation error" not in err and len(err.splitlines()) <= 1
    assert call_from_index(pcap, cid) is not None  # rebuilt, and sound again


def test_garbage_file_as_index_is_rebuilt(cli, clean):
    pcap, cid = clean
    where = index_path(pcap)
    where.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    where.write_bytes(b"SQLite format 3\0" + os.urandom(4000))
    where.chmod(0o600)
    code, out, err = cli("diagnose", cid, "--pcap", pcap, "--format", "json")
    assert code in (0, 1) and json.loads(out)["final_status"] == 200, err
    assert call_from_index(pcap, cid) is not None


def test_reads_past_the_deadline_are_abandoned(clean, monkeypatch):
    from voxops.capture import index

    pcap, cid = clean
    build_index(pcap, analyse_capture(pcap))
    assert call_from_index(pcap, cid) is not None
    monkeypatch.setattr(index, "DEADLINE_S", -1.0)
    assert call_from_index(pcap, cid) is None
