"""The CLI and spec references, generated from the typer app and the pydantic models.

Loaded by the docs hook (generate.py); what is printed is what the code accepts.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from enum import Enum
from typing import Any

# ---------------------------------------------------------------- CLI reference


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def _choices(param: Any) -> list[str]:
    holder = getattr(param, "type_descriptor", None) or getattr(param, "type", None)
    return [str(getattr(c, "value", c)) for c in (getattr(holder, "choices", None) or [])]


def _param_type(param: Any) -> str:
    choices = _choices(param)
    if choices:
        return "|".join(choices)
    if getattr(param, "is_flag", False):
        return "flag"
    holder = getattr(param, "type_descriptor", None)
    annotation = getattr(holder, "annotation", None)
    if annotation is not None:
        return _type_name(annotation)
    return getattr(getattr(param, "type", None), "name", "text")


def _default(param: Any) -> str:
    value = param.default
    if isinstance(value, Enum):
        value = value.value
    if value is None or value == () or value == [] or getattr(param, "is_flag", False):
        return ""
    if callable(value):
        return "(computed)"
    return f"`{value}`"


def _usage(path: list[str], cmd: Any) -> str:
    parts = [*path]
    if any(p.param_type_name == "option" for p in cmd.params):
        parts.append("[OPTIONS]")
    if hasattr(cmd, "commands"):
        parts.append("COMMAND [ARGS]...")
    for p in cmd.params:
        if p.param_type_name == "argument":
            name = (p.metavar or p.name.upper()).strip("[].")
            parts.append((name if p.required else f"[{name}]") + ("..." if p.nargs < 0 else ""))
    return " ".join(parts)


def _command_doc(path: list[str], cmd: Any, out: list[str]) -> None:
    if len(path) > 1:
        out.append(f"{'#' * min(len(path), 4)} `{' '.join(path)}`\n")
    if cmd.help:
        out.append(inspect.cleandoc(cmd.help).split("\f")[0] + "\n")
    out.append(f"```\n{_usage(path, cmd)}\n```\n")
    args = [p for p in cmd.params if p.param_type_name == "argument"]
    opts = [p for p in cmd.params if p.param_type_name == "option" and not p.hidden]
    if args:
        out.append("| Argument | Type | Description |\n|---|---|---|")
        for p in args:
            name = _cell(p.metavar or p.name.upper())
            out.append(f"| `{name}` | {_cell(_param_type(p))} | {_cell(p.help or '')} |")
        out.append("")
    if opts:
        out.append("| Option | Type | Default | Description |\n|---|---|---|---|")
        for p in opts:
            names = ", ".join(f"`{o}`" for o in (*p.opts, *p.secondary_opts))
            out.append(
                f"| {names} | {_cell(_param_type(p))} | {_default(p)} | {_cell(p.help or '')} |"
            )
        out.append("")
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        if not getattr(sub, "hidden", False):
            _command_doc([*path, name], sub, out)


def cli_reference() -> str:
    import typer.main

    from voxops.cli.main import app
    from voxops.errors import ExitCode

    out = [
        "# CLI reference\n",
        "Generated from the command tree of `voxops` at build time: what is here is what"
        " the installed `voxops` accepts. `voxops COMMAND --help` shows the same.\n",
        "## Exit codes\n",
        "| Code | Meaning |\n|---|---|",
    ]
    meanings = {
        ExitCode.OK: "success",
        ExitCode.FINDINGS: "findings at or above `--fail-on`",
        ExitCode.INVALID_INPUT: "usage error or invalid input (bad spec, unreadable capture)",
        ExitCode.ENVIRONMENT: "environment problem (missing tool, unreachable endpoint)",
        ExitCode.INTERNAL: "internal error; details are written to a log file",
        ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
    }
    out += [f"| {int(code)} | {meanings.get(code, code.name.lower())} |" for code in ExitCode]
    out.append("\n## `voxops`\n")
    _command_doc(["voxops"], typer.main.get_command(app), out)
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- spec reference


_BOUNDS = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))


def _bounds(metadata: list[Any]) -> str:
    """`>= 1, <= 100` from annotated-types constraints (also inside a nested FieldInfo)."""
    parts = []
    for meta in metadata:
        parts += [_bounds(list(getattr(meta, "metadata", [])))] if hasattr(meta, "metadata") else []
        parts += [f"{sign} {getattr(meta, attr)}" for attr, sign in _BOUNDS if hasattr(meta, attr)]
        for attr, label in (("min_length", "min length"), ("max_length", "max length")):
            if getattr(meta, attr, None) is not None:
                parts.append(f"{label} {getattr(meta, attr)}")
    return ", ".join(p for p in parts if p)


def _type_name(annotation: Any) -> str:
    """A readable type: `int (>= 1)`, `list[TrunkHost]`, `udp|tcp|tls`, `str | None`."""
    import types
    import typing

    from pydantic import BaseModel

    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        bounds = _bounds(list(args[1:]))
        return _type_name(args[0]) + (f" ({bounds})" if bounds else "")
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is typing.Literal:
        return "|".join(str(a) for a in args)
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(_type_name(a) for a in args)}]"
    if annotation is type(None):
        return "None"
    if inspect.isclass(annotation) and issubclass(annotation, Enum):
        return "|".join(str(m.value) for m in annotation)
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    if inspect.isclass(annotation):
        return annotation.__name__
    return re.sub(r"\b[\w.]+\.(\w+)", r"\1", str(annotation))


def _default_of(field: Any) -> str:
    from pydantic import BaseModel

    if field.is_required():
        return "**required**"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "(its defaults)"
    if value is None or value == [] or value == {}:
        return ""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, list):
        value = [v.value if isinstance(v, Enum) else v for v in value]
    text = str(value)
    return f"`{text}`" if len(text) <= 40 else "(see `voxops schema`)"


def _model_doc(model: Any, out: list[str]) -> None:
    out.append(f"### `{model.__name__}`\n")
    doc = inspect.getdoc(model)
    if doc and not doc.startswith("!!! abstract") and "BaseModel" not in doc:
        out.append(doc + "\n")
    if model.model_config.get("extra") == "forbid":
        out.append("Unknown fields are rejected.\n")
    out.append("| Field | Type | Default | Description |\n|---|---|---|---|")
    for name, field in model.model_fields.items():
        kind = _type_name(field.annotation)
        bounds = _bounds(list(field.metadata))
        kind += f" ({bounds})" if bounds else ""
        out.append(
            f"| `{field.alias or name}` | {_cell(kind)} | {_cell(_default_of(field))} |"
            f" {_cell(field.description or '')} |"
        )
    out.append("")


def _models_in(package: str) -> list[Any]:
    from pydantic import BaseModel

    root = importlib.import_module(package)
    modules = [root]
    for info in pkgutil.walk_packages(getattr(root, "__path__", []), prefix=f"{package}."):
        modules.append(importlib.import_module(info.name))
    found: list[Any] = []
    for module in modules:
        members = [
            v
            for v in vars(module).values()
            if inspect.isclass(v)
            and issubclass(v, BaseModel)
            and v.__module__ == module.__name__
            and not v.__name__.startswith("_")
            and v.model_fields  # bases that only carry configuration
        ]
        found += sorted(members, key=lambda m: inspect.getsourcelines(m)[1])
    return found


def spec_reference() -> str:
    from voxops.findings import Finding
    from voxops.runbooks import RunbookMeta

    out = [
        "# Spec reference\n",
        "Generated from the pydantic models at build time. `voxops schema` prints the same"
        " as JSON Schema; `voxops validate SPEC` checks a file against it.\n",
        "## Topology spec\n",
    ]
    models = _models_in("voxops.spec")
    if any(m.__name__ == "Topology" for m in models):
        out.append("A spec file is one [Topology](#topology); the models it is made of follow.\n")
    if models:
        for model in models:
            _model_doc(model, out)
    else:
        out.append("No topology models are defined in `voxops.spec` in this build.\n")
    out.append("## Shared JSON models\n")
    out.append("Every finding in `--format json` output has this shape:\n")
    _model_doc(Finding, out)
    out.append("Runbook front matter (see [Runbooks](../runbooks/index.md)):\n")
    _model_doc(RunbookMeta, out)
    return "\n".join(out) + "\n"
