"""Ladders of the docs' scenario captures (docs/hooks/scenarios.py), for the picture tests.

The same captures are drawn on the docs' "Reading a ladder" page, so what the tests
measure is what a reader sees.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

from tests.conftest import need_tool
from voxops.analysis.dialogs import build_dialogs
from voxops.analysis.ladder import Ladder, build_ladder
from voxops.capture import scan

REPO = Path(__file__).resolve().parents[2]
LAB_NAMES = {"127.0.9.11": "carrier-a", "127.0.9.12": "carrier-b", "127.0.9.1": "sbc-1", "127.0.9.21": "agent-1"}


@cache
def scenarios() -> ModuleType:
    spec = importlib.util.spec_from_file_location("voxops_docs_scenarios", REPO / "docs" / "hooks" / "scenarios.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def scenario_ladder(name: str, directory: Path) -> Ladder:
    pcap = scenarios().build(name, directory)
    result = scan(pcap)
    return build_ladder(build_dialogs(result.sip), udp=result.udp, names=LAB_NAMES)


def chromium(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[bytes]:
    exe = need_tool("chromium")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             "--force-device-scale-factor=1", f"--user-data-dir={tmp_path / 'profile'}"]
    return subprocess.run([exe, *flags, *args], capture_output=True, timeout=90, check=True)
