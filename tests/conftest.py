"""Shared test fixtures.

Real peers (kamailio, sipp, tshark, knotd, dnsmasq, openssl, promtool, chromium) are used
where a user would meet them. Locally a missing peer skips with a reason; in CI
(CI=true) it fails, because .ci/setup installs every one of them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"


def shared_pcaps_dir() -> Path:
    """Where the public sample captures are: $VOXOPS_SHARED_PCAPS, else ../shared/pcaps
    beside the checkout (or one level further up, for a checkout inside a folder)."""
    override = os.environ.get("VOXOPS_SHARED_PCAPS")
    if override:
        return Path(override)
    beside = [REPO.parent / "shared" / "pcaps", REPO.parent.parent / "shared" / "pcaps"]
    return next((p for p in beside if p.is_dir()), beside[0])


SHARED_PCAPS = shared_pcaps_dir()


def need_tool(tool: str) -> str:
    """Path of a real peer program, or skip (fail in CI) when it is missing."""
    path = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin:/usr/local/sbin")
    if path:
        return path
    message = f"{tool} is not installed (bash .ci/setup installs it)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def need_module(name: str) -> None:
    """Skip (fail in CI) when a Python module a peer needs is not installed (pjsua2:
    bash .ci/setup installs it)."""
    import importlib.util

    if importlib.util.find_spec(name) is None:
        message = f"Python module {name} is not installed (bash .ci/setup installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def need_root() -> None:
    if os.geteuid() != 0:
        if IN_CI:
            pytest.fail("this test needs root (network namespaces, capture)")
        pytest.skip("needs root")


@pytest.fixture(autouse=True, scope="session")
def compiled_kernels() -> None:
    """The ahead-of-time kernels built once before any test, so no test's timing or
    memory figure includes the one-off compilation (about 15 s and a few hundred MiB)."""
    from voxops.analysis import kernels as rtp_kernels
    from voxops.capture import kernels as capture_kernels

    capture_kernels.load()
    rtp_kernels.load()


@pytest.fixture(autouse=True)
def index_dir(tmp_path_factory, monkeypatch) -> Path:
    """Each test its own folder for capture indexes, never the user's cache."""
    folder = tmp_path_factory.mktemp("cache") / "index"
    monkeypatch.setenv("VOXOPS_INDEX_DIR", str(folder))
    return folder


def shared_pcap(name: str) -> Path:
    """A public sample capture from ../shared/pcaps: skip with the reason when it is
    absent, fail in CI (the CI checkout has ../shared beside it)."""
    path = SHARED_PCAPS / name
    if not path.is_file():
        message = f"{path} not present (the public sample captures live in ../shared/pcaps)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
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


def wait_capturing(cap: subprocess.Popen) -> None:
    """Return once tshark/dumpcap started by a test says it is capturing (15 s at most)."""
    assert cap.stderr is not None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        line = cap.stderr.readline()
        if "Capturing on" in line:
            threading.Thread(target=cap.stderr.read, daemon=True).start()
            time.sleep(0.3)
            return
        if cap.poll() is not None:
            break
    raise AssertionError("tshark did not start capturing")
