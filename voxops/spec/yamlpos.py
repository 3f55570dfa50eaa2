"""YAML to plain data with the line:column of every node, safe against hostile files.

Built from libyaml's event stream with an explicit stack (no recursion), so deep nesting
cannot exhaust the C or Python stack; aliases are counted at their expanded size, so a
billion-laughs file is refused before anything is expanded; duplicate keys are errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from voxops.errors import InvalidInput
from voxops.spec.types import shown

MAX_BYTES = 16 * 1024 * 1024
MAX_NODES = 2_000_000
MAX_DEPTH = 64
# No spec field holds a number this long; Python refuses to convert decimal strings of
# more than 4,300 digits, and a long hex number could not be printed in an error either.
MAX_NUMBER_DIGITS = 100

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


def _scalar(event: Any, where: str) -> Any:
    """YAML 1.2 core schema for plain scalars (no yes/no/on/off booleans); quoted stay strings."""
    value = event.value
    if event.style or event.tag not in (None, "!"):
        if event.tag in (None, "!", "tag:yaml.org,2002:str"):
            return value
        raise InvalidInput(f"{where}: explicit YAML tag {event.tag!r} is not supported")
    if not value:
        return None
    first = value[0]
    if first.isalpha() and first not in "tTfFnN":
        return value  # the common case: a plain word cannot be a number, bool or null
    low = value.lower()
    if low in ("~", "null"):
        return None
    if low == "true":
        return True
    if low == "false":
        return False
    if _INT_RE.match(value) or _HEX_RE.match(value):
        digits = value.replace("_", "")
        if len(digits) > MAX_NUMBER_DIGITS:
            raise InvalidInput(f"{where}: a number of {len(digits)} digits ({digits[:12]}...): too long for any spec field")
        return int(digits, 16) if digits.startswith("0x") else int(digits)
    if _FLOAT_RE.match(value) and any(ch.isdigit() for ch in value):
        return float(value.replace("_", ""))
    if low in (".inf", "+.inf", "-.inf", ".nan"):
        return float(low.replace(".", ""))
    return value


_FLOW_MARKS = re.compile(r"""[\[\]{}"'#]""")
_BLANK = " \t\r\n"
_FLOW_TOKEN_START = _BLANK + "[{,:"


def _flow_too_deep(text: str, end: int) -> tuple[int, int] | None:
    """(line, col) of the first flow bracket nested deeper than MAX_DEPTH before `end`.

    Counts `[`/`{` that open a collection (outside quoted scalars and comments); a
    bracket inside a plain word such as `a[1]` opens nothing.
    """
    depth = 0
    pos = 0
    for match in _FLOW_MARKS.finditer(text, 0, end):
        i = match.start()
        if i < pos:
            continue  # inside a quoted scalar or comment skipped below
        ch = text[i]
        before = text[i - 1] if i else "\n"
        # in block context a collection or quote starts only after a blank
        starts_token = before in (_FLOW_TOKEN_START if depth else _BLANK)
        if ch in "[{" and starts_token:
            depth += 1
            if depth > MAX_DEPTH:
                return text.count("\n", 0, i) + 1, i - (text.rfind("\n", 0, i) + 1) + 1
        elif ch in "]}" and depth:
            depth -= 1
        elif ch == "#" and before in _BLANK:
            newline = text.find("\n", i)
            pos = newline if newline >= 0 else len(text)
        elif ch in "\"'" and starts_token:
            pos = _quoted_end(text, i)
    return None


def _quoted_end(text: str, start: int) -> int:
    """Index just past the quoted scalar opening at `start` (end of text if unclosed)."""
    quote = text[start]
    i = start + 1
    while True:
        i = text.find(quote, i)
        if i < 0:
            return len(text)
        if quote == "'" and text.startswith("''", i):
            i += 2  # '' is an escaped quote inside single quotes
        elif quote == '"' and _escaped(text, i):
            i += 1
        else:
            return i + 1


def _escaped(text: str, i: int) -> bool:
    """Whether an odd run of backslashes stands before text[i]."""
    j = i
    while j > 0 and text[j - 1] == "\\":
        j -= 1
    return (i - j) % 2 == 1


_NO_KEY = object()
_MAP_TAGS = (None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def load_text(text: str, source: str = "<string>") -> Located:
    """Parse one YAML document; raise InvalidInput with file:line:col on any problem."""
    if len(text) > MAX_BYTES:
        raise InvalidInput(f"{source}: file is larger than {MAX_BYTES // (1024 * 1024)} MB: not a spec")
    positions: dict[Loc, tuple[int, int]] = {}
    try:
        data = _parse(text, source, positions)
    except yaml.YAMLError as exc:
        raise _yaml_problem(exc, text, source) from None
    return Located(data=data, positions=positions, source=source)


def _yaml_problem(exc: yaml.YAMLError, text: str, source: str) -> InvalidInput:
    """libyaml's error as one line with its place."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        # libyaml reads ahead while a flow collection may still turn out to be a key, so
        # its own nesting limit can fire before the parser hands us the 65th level.
        too_deep = _flow_too_deep(text, mark.index if mark else len(text))
        if too_deep is not None:
            line, col = too_deep
            return InvalidInput(f"{source}:{line}:{col}: nesting deeper than {MAX_DEPTH} levels")
        at = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        return InvalidInput(f"{at}: not valid YAML: {exc.problem or exc.context}")
    if isinstance(exc, yaml.reader.ReaderError):
        # a character YAML refuses (NUL, other controls): its place, in one line
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        return InvalidInput(f"{source}:{line}:{col}: not valid YAML: character {char}: {exc.reason}")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InvalidInput(f"{source}: not valid YAML: {first}")


def _open_container(event: Any, stack: list[list[Any]], positions: dict[Loc, tuple[int, int]], at: str) -> None:
    """A mapping or sequence starts: its place, and a new entry on the stack."""
    if len(stack) >= MAX_DEPTH:
        raise InvalidInput(f"{at}: nesting deeper than {MAX_DEPTH} levels")
    if event.tag not in _MAP_TAGS:
        raise InvalidInput(f"{at}: explicit YAML tag {event.tag!r} is not supported")
    top = stack[-1] if stack else None
    if top is None:
        loc: Loc = ()
    elif type(top[0]) is list:
        loc = (*top[1], len(top[0]))
    elif top[2] is _NO_KEY:
        raise InvalidInput(f"{at}: a mapping key must be a plain value")
    else:
        loc = (*top[1], top[2])
    mark = event.start_mark
    positions[loc] = (mark.line + 1, mark.column + 1)
    stack.append([{} if type(event) is yaml.MappingStartEvent else [], loc, _NO_KEY, 1, event.anchor])


def _at(source: str, event: Any) -> str:
    mark = event.start_mark
    return f"{source}:{mark.line + 1}:{mark.column + 1}"


def _mapping_key(event: Any, mapping: dict[Any, Any], source: str) -> str | int:
    if type(event) is yaml.AliasEvent:
        raise InvalidInput(f"{_at(source, event)}: an alias cannot be a mapping key")
    key = _scalar(event, source)
    if not isinstance(key, (str, int)):
        key = str(key)
    if key in mapping:
        raise InvalidInput(f"{_at(source, event)}: duplicate key {key!r}")
    return key


def _parse(text: str, source: str, positions: dict[Loc, tuple[int, int]]) -> Any:
    """One loop over libyaml's events with an explicit stack. Each open container is a list
    [container, loc, pending_key, size, anchor]; scalars are handled in the loop itself
    because they are the whole cost of loading a large spec."""
    anchors: dict[str, tuple[Any, int]] = {}
    stack: list[list[Any]] = []
    total = 0
    documents = 0
    root: list[Any] = []

    scalar_t, alias_t = yaml.ScalarEvent, yaml.AliasEvent
    starts = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
    ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    event: Any = None
    try:
        for event in yaml.parse(text, Loader=_Loader):
            kind = type(event)
            value: Any
            size = 1
            if kind is scalar_t or kind is alias_t:
                top = stack[-1] if stack else None
                if top is not None and top[2] is _NO_KEY and type(top[0]) is dict:
                    top[2] = _mapping_key(event, top[0], source)
                    total += 1
                    continue
                if top is None:
                    loc: Loc = ()
                elif type(top[0]) is list:
                    loc = (*top[1], len(top[0]))
                else:
                    loc = (*top[1], top[2])
                mark = event.start_mark
                positions[loc] = (mark.line + 1, mark.column + 1)
                if kind is scalar_t:
                    value = _scalar(event, source)
                    if event.anchor:
                        anchors[event.anchor] = (value, 1)
                else:
                    if event.anchor not in anchors:
                        raise InvalidInput(f"{_at(source, event)}: unknown alias *{event.anchor}")
                    value, size = anchors[event.anchor]
            elif kind in starts:
                _open_container(event, stack, positions, _at(source, event))
                continue
            elif kind in ends:
                container, _, _, size, anchor = stack.pop()
                if anchor:
                    anchors[anchor] = (container, size)
                value = container
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise InvalidInput(f"{_at(source, event)}: more than one YAML document in the file")
                continue
            else:
                continue
            total += size
            if total > MAX_NODES:
                raise InvalidInput(f"{_at(source, event)}: document expands to more than {MAX_NODES} nodes (alias bomb?)")
            if not stack:
                root.append(value)
                continue
            top = stack[-1]
            top[3] += size
            if type(top[0]) is list:
                top[0].append(value)
            else:
                top[0][top[2]] = value
                top[2] = _NO_KEY
    except InvalidInput as exc:
        message = str(exc)
        if message.startswith(f"{source}: "):  # raised by _scalar, which knows no position
            raise InvalidInput(message.replace(f"{source}:", f"{_at(source, event)}:", 1)) from None
        raise
    if not root or root[0] is None:
        raise InvalidInput(f"{source}: the file is empty: expected a topology mapping")
    return root[0]


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


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


def dotted(loc: Iterable[str | int]) -> str:
    """A location as the user reads it: `sbc.nodes[0].address`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:  # a key of any other shape is quoted and shortened: the path stays one line
            name = part if _PLAIN_KEY.fullmatch(part) else shown(part, 40)
            out += f".{name}" if out else name
    return out or "(top level)"
