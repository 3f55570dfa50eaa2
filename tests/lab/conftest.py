"""A lab on 127.0.9.x brought up once for the drill tests, always taken down."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import need_root, need_tool

SPEC = Path(__file__).parent / "spec"


def need_lab_peers() -> None:
    for tool in ("sipp", "kamailio", "kamcmd", "dumpcap", "dnsmasq", "openssl"):
        need_tool(tool)
    need_root()


def lab_processes(run_dir: Path) -> list[int]:
    """Every process whose command line mentions the run directory (the lab's files)."""
    import os

    marker = str(run_dir.resolve()).encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if marker in cmdline:
                found.append(int(entry))
    return found


@pytest.fixture(scope="session")
def lab_dir(tmp_path_factory):
    need_lab_peers()
    from voxops.lab.stack import Lab

    run_dir = tmp_path_factory.mktemp("lab")
    lab = Lab(run_dir)
    try:
        lab.up(SPEC)
        yield run_dir
    finally:
        lab.down()
    assert lab_processes(run_dir) == []

