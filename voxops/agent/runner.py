"""Building the effective config from a file and quick-start flags, and running the agent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from voxops.agent.config import AgentConfig, load_agent_config
from voxops.errors import EnvironmentProblem, InvalidInput


def build_config(
    path: Path | None,
    *,
    address: str | None = None,
    sip_port: int | None = None,
    health_port: int | None = None,
    max_calls: int | None = None,
    pipeline: str | None = None,
    dependencies: list[str] | None = None,
    ivr_db: str | None = None,
    drain_timeout: int | None = None,
) -> AgentConfig:
    """The config file (or defaults), with each given flag overriding its field."""
    base = load_agent_config(path) if path is not None else AgentConfig()
    data: dict[str, Any] = base.model_dump(mode="json")
    if address is not None:
        data["sip"]["address"] = data["health"]["address"] = address
    if sip_port is not None:
        data["sip"]["port"] = sip_port
    if health_port is not None:
        data["health"]["port"] = health_port
    if max_calls is not None:
        data["max_calls"] = max_calls
    if pipeline is not None:
        data["pipeline"] = pipeline
    if ivr_db is not None:
        data["ivr"]["db"] = ivr_db
    if drain_timeout is not None:
        data["drain_timeout_s"] = drain_timeout
    for item in dependencies or []:
        name, sep, url = item.partition("=")
        if not sep:
            raise InvalidInput(f"--dependency {item!r}: expected NAME=URL")
        data["dependencies"].append({"name": name, "url": url})
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise InvalidInput(f"agent option {where}: {err['msg']}") from None


def run_agent(config: AgentConfig) -> int:
    try:
        import pjsua2  # noqa: F401
    except ImportError:
        raise EnvironmentProblem(
            "pjsua2 is not installed", hint="pip install 'voxops[agent]' (PyPI pjsua2-python)"
        ) from None
    from voxops.agent.endpoint import check_capacity
    from voxops.agent.service import Agent

    check_capacity(config)
    return Agent(config).run()
