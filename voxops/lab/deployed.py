"""The SBC nodes and agents as `voxops deploy` runs them from the rendered configs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from voxops.errors import EnvironmentProblem
from voxops.lab.consult import available
from voxops.lab.state import ProcessInfo
from voxops.spec.models import Topology

if TYPE_CHECKING:
    from voxops.lab.stack import Lab


def deploy_stack(lab: Lab, topology: Topology, spec: Path) -> list[ProcessInfo]:
    if not available("deploy"):
        raise EnvironmentProblem(
            "voxops deploy is not available in this build", hint="run the lab with --standin"
        )
    raise EnvironmentProblem("deploying the lab is not wired yet", hint="run the lab with --standin")


def undeploy_stack(lab: Lab) -> list[str]:
    return []
