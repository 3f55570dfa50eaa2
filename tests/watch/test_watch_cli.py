"""`voxops watch` refuses bad settings with one line, and its live view fits 80 columns."""

from __future__ import annotations

import io
import socket

import pytest

from tests.watch.test_records import record
from voxops.watch.output import JsonLines, LiveView


@pytest.mark.parametrize(("args", "message"), [
    ((), "nothing to watch"),
    (("--hep", "localhost:5065"), "numeric address"),
    (("--hep", "70000"), "port out of range"),
    (("--hep", "5065", "--once"), "--once"),
    (("--interface", "lo", "--once"), "--once"),
    (("--follow", "x.pcap", "--linger", "soon"), "--linger"),
    (("--follow", "x.pcap", "--allow", "10.0.0.300/8"), "--allow"),
])
def test_bad_settings_are_one_line_and_exit_2(cli, args, message) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("watch", *args)
    assert code == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) <= 2


def test_a_port_in_use_is_an_environment_problem(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.31.6", 0))
        code, _, err = cli("watch", "--hep", f"127.0.31.6:{taken.getsockname()[1]}", "--duration", "1s")
    assert code == 3 and "cannot listen for HEP" in err
    code, _, err = cli("watch", "--follow", str(tmp_path / "missing.pcap"), "--once")
    assert code == 3 and "cannot follow" in err


def test_the_live_view_fits_80_columns() -> None:
    view = LiveView(io.StringIO(), width=80)
    view.add(record("a-very-long-call-id-" * 4 + "@host", 1000.0, "5550100", trunk="carrier-with-a-long-name/trunk",
                    status=503, codes=("trunk-503", "failover")))
    view.add(record("b@1", 1001.0, "5550100", trunk="carrier-with-a-long-name/trunk"))
    lines = view.lines(active=12, packets=345678, dropped=3)
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    assert "calls active 12" in text and "50.0%" in text and "trunk-503" in text


def test_json_lines_rotate(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = JsonLines(str(tmp_path / "calls.jsonl"), max_bytes=2000, keep=2)
    for i in range(12):
        out.write(record(f"c{i}@1", 1000.0 + i, "5550100"))
    out.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["calls.jsonl", "calls.jsonl.1", "calls.jsonl.2"]
    assert all(p.stat().st_size <= 2000 + 1500 for p in tmp_path.iterdir())
