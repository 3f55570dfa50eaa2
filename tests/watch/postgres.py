"""A throwaway PostgreSQL server (Debian's) in a temporary directory, on 127.0.31.7.

Run as the current user; the server refuses root, so as root it runs as the `postgres`
system user Debian's package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import free_port, need_tool

HOST = "127.0.31.7"


def _bin(tool: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"))
    return found[-1] if found else need_tool(tool)


@contextmanager
def postgres_server(workdir: Path) -> Iterator[str]:
    """Yields a postgresql:// URL; the server and its files are gone afterwards."""
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    prefix: list[str] = []
    data = workdir / "pgdata"
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        workdir.chmod(0o755)
        for parent in workdir.parents:  # the server user must reach its directory
            if parent != Path("/") and not os.stat(parent).st_mode & 0o001:
                parent.chmod(os.stat(parent).st_mode | 0o001)
        data.mkdir()
        shutil.chown(data, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = free_port(HOST, kind=1)
    subprocess.run([*prefix, initdb, "-D", str(data), "-A", "trust", "-U", "voxops", "--no-sync"],
                   check=True, capture_output=True, timeout=120)
    log = data / "server.log"
    subprocess.run([*prefix, pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "start", "-o",
                    f"-h {HOST} -p {port} -k {data} -c fsync=off"], check=True, capture_output=True, timeout=90)
    try:
        yield f"postgresql://voxops@{HOST}:{port}/postgres"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True,
                       timeout=60)
