"""The call record store and `voxops calls --db`: one command answers "what happened to
this number at that time, on any node"."""

from __future__ import annotations

import json

import pytest

from voxops.findings import Finding, Severity
from voxops.records.model import CallRecord, digits
from voxops.records.store import Query, RecordStore


def record(call_id: str, start: float, to: str, *, trunk: str = "carrier-a/main", status: int = 200,
           codes: tuple[str, ...] = (), node: str = "sbc-1") -> CallRecord:
    return CallRecord(
        call_id=call_id, legs=[], node=node, finished_by="bye", trunk=trunk, trunks_tried=[trunk],
        direction="outbound", from_uri="sip:+15550199@agents", to_uri=f"sip:{to}@carrier",
        from_number="15550199", to_number=digits(to), start=start, end=start + 30, answered_at=None,
        ended_at=None, final_status=status, pdd_ms=120.0, duration_s=None, retransmissions=0,
        auth_challenges=0, path=["agent-1", "sbc-1", "carrier-a"], media=[], mos_min=None, loss_max_pct=None,
        findings=[Finding(code=c, severity=Severity.warning, message=c) for c in codes], verdict="-")


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tests.watch.postgres import postgres_server

    with postgres_server(tmp_path_factory.mktemp("pg")) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        url = str(tmp_path / "calls.db")
    else:
        url = request.getfixturevalue("postgres_url")
        with RecordStore(url).conn as conn:  # each test starts from an empty store
            conn.execute("DROP TABLE IF EXISTS calls, call_findings, records_meta")
    s = RecordStore(url)
    s.add([
        record("a@1", 1000.0, "+1 555 0100"),
        record("b@1", 2000.0, "+1 555 0100", trunk="carrier-b/main", status=503, codes=("trunk-503",), node="sbc-2"),
        record("c@1", 3000.0, "+1 555 0177", codes=("one-way-audio", "high-pdd")),
        record("d@1", 4000.0, "0044 20 7946 0000"),
    ])
    s.commit()
    yield s
    s.close()


def ids(found: list[CallRecord]) -> list[str]:
    return [r.call_id for r in found]


def test_a_number_is_found_whatever_its_spelling(store: RecordStore) -> None:
    for spelling in ("+1 555 0100", "15550100", "555-0100", "0100"):
        assert ids(store.search(Query([spelling]))) == ["b@1", "a@1"], spelling
    assert ids(store.search(Query(["+1 555 0199"]))) == ["d@1", "c@1", "b@1", "a@1"]  # the caller
    assert ids(store.search(Query(["5550101"]))) == []


def test_time_trunk_and_finding_narrow_the_search(store: RecordStore) -> None:
    assert ids(store.search(Query(["5550100"], since=1500.0, until=2500.0))) == ["b@1"]
    assert ids(store.search(Query(["5550100"], since=1029.0, until=1029.0))) == ["a@1"]  # active then
    assert ids(store.search(Query([], trunk="carrier-b/main"))) == ["b@1"]
    assert ids(store.search(Query([], finding="one-way-audio"))) == ["c@1"]
    assert ids(store.search(Query([], call_id="c@"))) == ["c@1"]


def test_retention_deletes_old_records_and_their_findings(store: RecordStore) -> None:
    store.expire(2500.0)
    store.commit(now=0.0)
    assert ids(store.search(Query([]))) == ["d@1", "c@1"]
    assert ids(store.search(Query([], finding="trunk-503"))) == []


def test_calls_db_searches_the_store_and_keeps_the_capture_form(cli, store: RecordStore, tmp_path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("calls", "--db", store.url, "--number", "+1 555 0100", "--since", "1500", "--format", "json")
    assert code == 0 and [r["call_id"] for r in json.loads(out)] == ["b@1"]
    assert json.loads(out)[0]["findings"][0]["code"] == "trunk-503"
    code, out, _ = cli("calls", "--db", store.url, "--finding", "trunk-503", "--width", "80")
    assert code == 0 and "b@1" in out and "trunk-503" in out and max(len(line) for line in out.splitlines()) <= 80
    code, _, err = cli("calls")
    assert code == 2 and "--db" in err
    code, _, err = cli("calls", "--db", store.url, "--status", "503")
    assert code == 2 and "--status" in err
    code, _, err = cli("calls", "--db", str(tmp_path / "none.db"))
    assert code == 2 and "no such call record store" in err
    (tmp_path / "junk.db").write_bytes(b"not sqlite" * 100)
    code, _, err = cli("calls", "--db", str(tmp_path / "junk.db"))
    assert code == 2 and "not a call record store" in err


def test_a_postgresql_url_without_records_or_server_is_one_line(cli, postgres_url) -> None:  # type: ignore[no-untyped-def]
    with RecordStore(postgres_url).conn as conn:
        conn.execute("DROP TABLE IF EXISTS calls, call_findings, records_meta")
    code, _, err = cli("calls", "--db", postgres_url.replace("voxops@", "voxops:secret@"))
    assert code == 2 and "not a call record store" in err and "secret" not in err
    code, _, err = cli("calls", "--db", "postgresql://voxops@127.0.31.7:1/postgres")
    assert code == 3 and "cannot connect to the record store" in err
