"""The lab's run directory and what `voxops lab up` recorded there for later commands."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from voxops.errors import InvalidInput

DEFAULT_DIR = Path("lab")


class ProcessInfo(BaseModel):
    """One lab process: what it is, where it listens, how to start it again after a drill."""

    model_config = ConfigDict(extra="forbid")

    name: str
    role: str = Field(description="carrier, sbc, agent or capture")
    address: str | None = None
    port: int | None = None
    argv: list[str]
    mode: str | None = Field(default=None, description="carrier mode (answer, slow, reject, ...)")
    ctl: str | None = Field(default=None, description="kamailio control socket (SBC nodes)")
    pidfile: str | None = Field(default=None, description="pid file of a daemon that forks itself (kamailio -P)")


class LabState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spec: str
    run_dir: str
    sbc: str = Field(description="how the SBC nodes and agents were started (deploy)")
    started_at: float
    processes: dict[str, ProcessInfo] = Field(default_factory=dict)
    capture: str | None = None


class RunDir:
    """Layout of the lab's run directory: state, pids, logs, captures, reports."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def sub(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def pids(self) -> Path:
        return self.sub("pids")

    @property
    def logs(self) -> Path:
        return self.sub("logs")

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    def load(self) -> LabState | None:
        if not self.state_file.exists():
            return None
        try:
            return LabState.model_validate(json.loads(self.state_file.read_text()))
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"{self.state_file}: unreadable lab state ({exc})") from exc

    def save(self, state: LabState) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(state.model_dump_json(indent=2) + "\n")
        tmp.replace(self.state_file)

    def clear(self) -> None:
        self.state_file.unlink(missing_ok=True)
