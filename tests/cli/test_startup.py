"""Every invocation pays for what `voxops.cli.main` imports: heavy libraries wait for the command
that needs them, so `voxops --help` and each command's start-up stay fast."""

from __future__ import annotations

import json
import subprocess
import sys

# Seconds of import each, and none needed to parse options or print help. (pydantic is only
# kept out of the import: typer itself loads it to coerce a command's parameters.)
HEAVY = ("numpy", "numba", "matplotlib", "jinja2", "pyshark", "pjsua2", "ansible_runner", "yaml", "dns")
HEAVY_AT_IMPORT = (*HEAVY, "pydantic")

_PROBE = """
import contextlib, io, json, sys
def loaded(heavy):
    return sorted(m for m in heavy if m in sys.modules)
import voxops.cli.main as cli_main
at_import = loaded(%r)
import typer.main
names = sorted(typer.main.get_command(cli_main.app).commands)
helps = {}
for name in [None, *names]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = cli_main.main([name, "--help"] if name else ["--help"])
    helps[name or ""] = [code, out.getvalue()]
print(json.dumps({"import": at_import, "help": loaded(%r), "names": names, "helps": helps}))
"""


def _probe() -> dict:
    proc = subprocess.run([sys.executable, "-c", _PROBE % (HEAVY_AT_IMPORT, HEAVY)], capture_output=True, text=True,
                          timeout=120, check=True, env={"COLUMNS": "100", "PATH": "/usr/bin:/bin"})
    return json.loads(proc.stdout)


def test_import_and_help_load_no_heavy_library() -> None:
    seen = _probe()
    assert seen["import"] == [], f"import voxops.cli.main loads {seen['import']}: import them inside the command"
    assert seen["help"] == [], f"--help of some command loads {seen['help']}: import them inside the command"
    # the help really was produced: every command is listed and each --help printed its usage
    assert {"calls", "stats", "validate", "diagnose"} <= set(seen["names"])
    for name, (code, text) in seen["helps"].items():
        assert code == 0, name
        assert "Usage:" in text and (name in text), name
    assert all(name in seen["helps"][""][1] for name in seen["names"])
