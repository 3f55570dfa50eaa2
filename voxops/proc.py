"""The one way voxops runs other programs: argv lists, a timeout, errors that show what ran."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from voxops.errors import CommandFailed, ToolMissing


def which(tool: str) -> str:
    """Absolute path of `tool`, looking in the sbin directories too (kamailio lives there)."""
    found = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin:/usr/local/sbin")
    if not found:
        raise ToolMissing(
            f"{tool} is not installed", hint="run the README's set-up command (bash .ci/setup)"
        )
    return found


def run(
    argv: Sequence[str | Path],
    *,
    timeout: float,
    check: bool = True,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run argv to completion; raise CommandFailed with the command line and stderr tail."""
    args = [str(a) for a in argv]
    args[0] = which(args[0]) if "/" not in args[0] else args[0]
    shown = shlex.join(args)
    try:
        cp = subprocess.run(
            args,
            input=input,
            capture_output=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CommandFailed(f"`{shown}` timed out after {timeout:g} s") from exc
    except OSError as exc:
        raise CommandFailed(f"`{shown}` could not start: {exc.strerror}") from exc
    if check and cp.returncode != 0:
        tail = cp.stderr.decode(errors="replace").strip().splitlines()[-5:]
        detail = " | ".join(tail) if tail else "(no stderr)"
        raise CommandFailed(f"`{shown}` exited {cp.returncode}: {detail}")
    return cp
