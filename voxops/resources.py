"""The data voxops ships inside its package: templates, runbooks, inventories, playbooks.

Found through importlib.resources, so a checkout (editable install, tests, docs hooks)
and an installed wheel read the same files from the same place in the package.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

from voxops.errors import EnvironmentProblem

DataName = Literal["templates", "runbooks", "inventories", "playbooks"]

# name -> (package the files sit in, folder inside it)
_LOCATIONS: dict[str, tuple[str, str]] = {
    "templates": ("voxops.data", "templates"),
    "runbooks": ("voxops.data", "runbooks"),
    "inventories": ("voxops.data", "inventories"),
    "playbooks": ("voxops.deploy", "playbooks"),
}


def data_dir(name: DataName) -> Path:
    """The folder of shipped data `name`, as a real directory (Jinja2 and Ansible read it)."""
    package, folder = _LOCATIONS[name]
    found = resources.files(package).joinpath(folder)
    if not isinstance(found, Path) or not found.is_dir():
        raise EnvironmentProblem(
            f"voxops' {name} are missing from its installation (looked in {found})",
            hint="reinstall voxops from a wheel or a checkout",
        )
    return found


def docs_site() -> Path:
    """Where `mkdocs build` in a checkout writes the site: beside the package folder."""
    return Path(str(resources.files("voxops"))).parent / "site"
