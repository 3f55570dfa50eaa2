"""Shared test fixtures.

Real peers (kamailio, sipp, tshark, knotd, dnsmasq, openssl, promtool, chromium) are used
where a user would meet them. Locally a missing peer skips with a reason; in CI
(CI=true) it fails, because .ci/setup installs every one of them.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# the checkout sits next to shared/ (or one level deeper, in a worktree folder)
SHARED_PCAPS = next(
    (p for p in (REPO.parent / "shared" / "pcaps", REPO.parent.parent / "shared" / "pcaps") if p.exists()),
    REPO.parent / "shared" / "pcaps",
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def need_tool(tool: str) -> str:
    """Path of a real peer program, or skip (fail in CI) when it is missing."""
    path = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin:/usr/local/sbin")
    if path:
        return path
    message = f"{tool} is not installed (bash .ci/setup installs it)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def need_root() -> None:
    if os.geteuid() != 0:
        if IN_CI:
            pytest.fail("this test needs root (network namespaces, capture)")
        pytest.skip("needs root")


@pytest.fixture(autouse=True)
def index_dir(tmp_path_factory, monkeypatch) -> Path:
    """Each test its own folder for capture indexes, never the user's cache."""
    folder = tmp_path_factory.mktemp("cache") / "index"
    monkeypatch.setenv("VOXOPS_INDEX_DIR", str(folder))
    return folder


def shared_pcap(name: str) -> Path:
    """A public sample capture from ../shared/pcaps; skip when the folder is absent."""
    path = SHARED_PCAPS / name
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path


def free_port(host: str = "127.0.0.1", kind: int = socket.SOCK_DGRAM) -> int:
    """A port free for both UDP and TCP on host."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        other = socket.SOCK_STREAM if kind == socket.SOCK_DGRAM else socket.SOCK_DGRAM
        with socket.socket(socket.AF_INET, other) as s2:
            try:
                s2.bind((host, port))
            except OSError:
                continue
        return int(port)
    raise RuntimeError("no free port")


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process: returns (exit_code, stdout, stderr)."""
    from voxops.cli.main import main

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke
