"""Checking rendered Kamailio configs with the real kamailio (`kamailio -c -f FILE`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from voxops.proc import run, which


class ConfigCheck(BaseModel):
    config: str
    ok: bool
    detail: str


def check_kamailio(config: Path, *, timeout: float = 30) -> ConfigCheck:
    """Parse the config, load every module and run their fixups, without binding a socket."""
    cfg = config.resolve()  # kamailio changes to / before it reads includes and lists
    cp = run([which("kamailio"), "-c", "-f", str(cfg)], timeout=timeout, check=False)
    out = (cp.stderr + cp.stdout).decode(errors="replace")
    errors = [ln.strip() for ln in out.splitlines() if "ERROR" in ln or "CRITICAL" in ln]
    ok = cp.returncode == 0
    detail = "config file ok" if ok else " | ".join(errors[-5:]) or out.strip()[-400:]
    return ConfigCheck(config=str(cfg), ok=ok, detail=detail)
