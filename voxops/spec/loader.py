"""YAML -> Topology, with `file:line:col: dotted.path: message` on every problem."""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, ValidationError

from voxops.errors import SpecError
from voxops.spec.models import Topology
from voxops.spec.rules import check_references
from voxops.spec.types import shown
from voxops.spec.yamlpos import Loc, Located, dotted, load_file, load_text


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types behind Annotated / Optional / list / dict."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for a in typing.get_args(annotation) for t in _unwrap(a)]
    if origin in (list, tuple, set, frozenset):
        return _unwrap(typing.get_args(annotation)[0])
    if origin is dict:
        return _unwrap(typing.get_args(annotation)[1])
    return [annotation]


def _field_at(loc: Loc) -> tuple[type[BaseModel] | None, Any]:
    """(model class that owns the last key of loc, its FieldInfo or None)."""
    model: type[BaseModel] | None = Topology
    info = None
    owner: type[BaseModel] | None = None
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        info = model.model_fields.get(part)
        owner = model
        if info is None:
            return owner, None
        nested = [t for t in _unwrap(info.annotation) if isinstance(t, type) and issubclass(t, BaseModel)]
        model = nested[0] if nested else None
    return owner, info


def _bounds(info: Any) -> tuple[Any, Any]:
    lo = hi = None
    metadata = list(getattr(info, "metadata", []) or [])
    for t in [info.annotation]:
        for arg in typing.get_args(t):
            metadata.extend(getattr(arg, "__metadata__", ()) or ())
            for sub in typing.get_args(arg):
                metadata.extend(getattr(sub, "__metadata__", ()) or ())
        metadata.extend(getattr(t, "__metadata__", ()) or ())
    for m in metadata:
        for c in getattr(m, "metadata", [m]):
            if isinstance(c, (Ge, Gt)):
                lo = getattr(c, "ge", getattr(c, "gt", None))
            if isinstance(c, (Le, Lt)):
                hi = getattr(c, "le", getattr(c, "lt", None))
    return lo, hi


def _message(err: dict[str, Any]) -> str:
    kind = err["type"]
    loc: Loc = err["loc"]
    if kind == "extra_forbidden" and loc:
        owner, _ = _field_at(loc[:-1] + ("__none__",))
        key = str(loc[-1])
        fields = list(owner.model_fields) if owner else []
        close = difflib.get_close_matches(key, fields, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else (f"; expected one of: {', '.join(fields)}" if fields else "")
        return f"unknown key {shown(key)}{hint}"
    if kind == "missing":
        return "required key is missing"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        _, info = _field_at(loc)
        lo, hi = _bounds(info) if info is not None else (None, None)
        if lo is not None and hi is not None:
            return f"must be {lo}..{hi} (got {err.get('input')!r})"
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return msg[0].lower() + msg[1:] if msg else msg


def _clean_loc(loc: tuple[Any, ...], data: Any = None) -> Loc:
    """The path of loc through the data. Pydantic adds union-member and function-validator
    tags to loc; a part is kept when it is a key (or index) of the data at that point, so a
    user's key that looks like a tag (`a[b]`) is kept too."""
    out: list[str | int] = []
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
        elif isinstance(part, int) or not (("[" in part) or part.startswith("function-")):
            node = None  # a key the data lacks (a missing field): still part of the path
        else:
            continue
        out.append(part)
    return tuple(out)


def validate_located(located: Located, base_dir: Path | None = None, *, check_files: bool = False) -> Topology:
    if not isinstance(located.data, dict):
        raise SpecError([f"{located.where(())}: expected a mapping of topology keys at the top level"])
    try:
        topology = Topology.model_validate(located.data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = _clean_loc(err["loc"], located.data)
            detail: dict[str, Any] = {**err, "loc": loc}
            problems.append(f"{located.where(loc)}: {dotted(loc)}: {_message(detail)}")
        raise SpecError(problems) from None
    problems = [
        f"{located.where(loc)}: {dotted(loc)}: {msg}"
        for loc, msg in check_references(topology, base_dir=base_dir, check_files=check_files)
    ]
    if problems:
        raise SpecError(problems)
    return topology


def load_topology(path: str | Path, *, check_files: bool = False) -> tuple[Topology, Located]:
    """Load and validate a spec file. A directory means its `topology.yaml`."""
    p = Path(path)
    if p.is_dir():
        p = p / "topology.yaml"
    located = load_file(p)
    return validate_located(located, p.parent, check_files=check_files), located


def load_topology_text(text: str, source: str = "<string>") -> Topology:
    return validate_located(load_text(text, source))
