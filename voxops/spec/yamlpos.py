"""YAML to plain data with the line:column of every node, safe against hostile files.

Built from libyaml's event stream with an explicit stack (no recursion), so deep nesting
cannot exhaust the C or Python stack; aliases are counted at their expanded size, so a
billion-laughs file is refused before anything is expanded; duplicate keys are errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from voxops.errors import InvalidInput

MAX_BYTES = 16 * 1024 * 1024
MAX_NODES = 2_000_000
MAX_DEPTH = 64

Loc = tuple[str | int, ...]

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyPI wheels ship libyaml
    _Loader = yaml.SafeLoader

_INT_RE = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")
_HEX_RE = re.compile(r"^0x[0-9a-fA-F_]+$")
_FLOAT_RE = re.compile(r"^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$")


@dataclass
class Located:
    """The data plus where each node (by its path) starts in the file."""

    data: Any
    positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    source: str = "<string>"

    def where(self, loc: Loc) -> str:
        """`file:line:col` of the deepest known node on loc's path."""
        for cut in range(len(loc), -1, -1):
            pos = self.positions.get(tuple(loc[:cut]))
            if pos is not None:
                return f"{self.source}:{pos[0]}:{pos[1]}"
        return self.source


def _scalar(event: yaml.ScalarEvent) -> Any:
    """YAML 1.2 core schema for plain scalars (no yes/no/on/off booleans); quoted stay strings."""
    value = event.value
    if event.style or event.tag not in (None, "!"):
        if event.tag in (None, "!", "tag:yaml.org,2002:str"):
            return value
        raise InvalidInput(f"explicit YAML tag {event.tag!r} is not supported")
    low = value.lower()
    if low in ("", "~", "null"):
        return None
    if low == "true":
        return True
    if low == "false":
        return False
    if _INT_RE.match(value):
        return int(value.replace("_", ""))
    if _HEX_RE.match(value):
        return int(value.replace("_", ""), 16)
    if _FLOAT_RE.match(value) and any(ch.isdigit() for ch in value):
        return float(value.replace("_", ""))
    if low in (".inf", "+.inf", "-.inf", ".nan"):
        return float(low.replace(".", ""))
    return value


def _pos(event: Any) -> tuple[int, int]:
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1)


class _Frame:
    __slots__ = ("container", "loc", "key", "key_pos", "size", "anchor")

    def __init__(self, container: Any, loc: Loc, anchor: str | None) -> None:
        self.container = container
        self.loc = loc
        self.key: Any = _NO_KEY
        self.key_pos: tuple[int, int] | None = None
        self.size = 1
        self.anchor = anchor


_NO_KEY = object()


def load_text(text: str, source: str = "<string>") -> Located:
    """Parse one YAML document; raise InvalidInput with file:line:col on any problem."""
    if len(text) > MAX_BYTES:
        raise InvalidInput(f"{source}: file is larger than {MAX_BYTES // (1024 * 1024)} MB: not a spec")
    located = Located(data=None, source=source)
    anchors: dict[str, tuple[Any, int]] = {}
    stack: list[_Frame] = []
    total = 0
    documents = 0
    root_set = False

    def where(event: Any) -> str:
        line, col = _pos(event)
        return f"{source}:{line}:{col}"

    def attach(value: Any, size: int, event: Any) -> None:
        nonlocal total, root_set
        total += size
        if total > MAX_NODES:
            raise InvalidInput(f"{where(event)}: document expands to more than {MAX_NODES} nodes (alias bomb?)")
        if not stack:
            located.data = value
            root_set = True
            return
        top = stack[-1]
        top.size += size
        if isinstance(top.container, list):
            top.container.append(value)
            return
        if top.key is _NO_KEY:
            if isinstance(value, (dict, list)):
                raise InvalidInput(f"{where(event)}: a mapping key must be a plain value")
            key = value if isinstance(value, (str, int)) else str(value)
            if key in top.container:
                raise InvalidInput(f"{where(event)}: duplicate key {key!r}")
            top.key = key
            top.key_pos = _pos(event)
            return
        top.container[top.key] = value
        top.key = _NO_KEY

    def child_loc(event: Any) -> Loc:
        if not stack:
            return ()
        top = stack[-1]
        if isinstance(top.container, list):
            return (*top.loc, len(top.container))
        if top.key is _NO_KEY:
            return top.loc  # a key: positions are recorded for values
        return (*top.loc, top.key)

    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise InvalidInput(f"{where(event)}: more than one YAML document in the file")
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    raise InvalidInput(f"{where(event)}: nesting deeper than {MAX_DEPTH} levels")
                if event.tag not in (None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"):
                    raise InvalidInput(f"{where(event)}: explicit YAML tag {event.tag!r} is not supported")
                loc = child_loc(event)
                located.positions.setdefault(loc, _pos(event))
                container: Any = {} if isinstance(event, yaml.MappingStartEvent) else []
                stack.append(_Frame(container, loc, event.anchor))
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                frame = stack.pop()
                if frame.anchor:
                    anchors[frame.anchor] = (frame.container, frame.size)
                attach(frame.container, frame.size, event)
            elif isinstance(event, yaml.ScalarEvent):
                loc = child_loc(event)
                is_key = bool(stack) and isinstance(stack[-1].container, dict) and stack[-1].key is _NO_KEY
                value = _scalar(event)
                if not is_key:
                    located.positions.setdefault(loc, _pos(event))
                if event.anchor:
                    anchors[event.anchor] = (value, 1)
                attach(value, 1, event)
            elif isinstance(event, yaml.AliasEvent):
                if event.anchor not in anchors:
                    raise InvalidInput(f"{where(event)}: unknown alias *{event.anchor}")
                value, size = anchors[event.anchor]
                located.positions.setdefault(child_loc(event), _pos(event))
                attach(value, size, event)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise InvalidInput(f"{at}: not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{source}: not valid YAML: {exc}") from None
    except RecursionError:  # pragma: no cover - the explicit stack should prevent it
        raise InvalidInput(f"{source}: nesting too deep") from None
    if not root_set or located.data is None:
        raise InvalidInput(f"{source}: the file is empty: expected a topology mapping")
    return located


def load_file(path: str | Path) -> Located:
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise InvalidInput(f"{p}: file is {size // (1024 * 1024)} MB, larger than a spec can be ({MAX_BYTES // (1024 * 1024)} MB)")
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"{p}: no such file") from None
    except IsADirectoryError:
        raise InvalidInput(f"{p}: is a directory, expected a YAML file") from None
    except OSError as exc:
        raise InvalidInput(f"{p}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{p}: not UTF-8 text (byte {exc.start})") from None
    return load_text(text, str(p))
