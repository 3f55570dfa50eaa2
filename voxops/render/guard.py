"""The last check before a value lands in a rendered file, whatever the spec's types let through.

Two nets under the spec's types (voxops.spec.types): `check_context` walks the plain data
a template (or Ansible's template module) receives, and `finalize` sees every `{{ }}`
expression as Jinja2 prints it, including values a template builds itself. A refused
value is a bug in the types, so the error names the value's place and stops the render
before any file is written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from voxops.errors import SpecError
from voxops.spec.types import shown

# Spec data: printable ASCII, and none of the characters that end a Kamailio or YAML
# string (quotes, backslash), start a comment or a preprocessor directive (`#`), expand
# (Kamailio `$` pseudo-variables, Ansible `{{ }}`/`{% %}`) or quote a shell word (`` ` ``).
_CONTEXT_BAD = re.compile(r"[^\x20-\x7e]|[\"'\\`{}$#]")
# What any expression may print: printable ASCII without quotes or backslash. Braces stay
# allowed here: the alert rules print Prometheus' own `{{ $labels.x }}` through literals.
_PRINT_BAD = re.compile(r"[^\x20-\x7e]|[\"'\\]")
# A secret that reaches a Kamailio modparam string: no quote, backslash, `;`, `:` (the uac
# credential separator), braces (Ansible templating) or whitespace.
_SECRET_RE = re.compile(r"[A-Za-z0-9._~!@#$%^&*()+=,/?|<>\[\]-]{1,256}")

# context keys whose values are checked by check_secret instead (they may hold `$` or `#`)
SECRET_KEYS = frozenset({"secrets"})


def check_secret(name: str, value: str) -> str:
    """The secret, or a one-line error that names it without showing it."""
    if not _SECRET_RE.fullmatch(value):
        raise SpecError([f"secret {name}: must be 1-256 printable ASCII characters without quotes, "
                         "backslash, ';', ':', braces or spaces"])
    return value


def _bad_strings(data: Any, path: str) -> list[str]:
    stack: list[tuple[Any, str]] = [(data, path)]
    found: list[str] = []
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            if _CONTEXT_BAD.search(value):
                found.append(f"{where}: {shown(value)}")
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if key not in SECRET_KEYS:
                    stack.append((item, f"{where}.{key}"))
                    stack.append((key, f"{where}.<key {key!r}>"))
        elif isinstance(value, (list, tuple)):
            stack.extend((item, f"{where}[{i}]") for i, item in enumerate(value))
        elif not (value is None or isinstance(value, (bool, int, float))):
            found.append(f"{where}: a {type(value).__name__} is not plain template data")
    return found


def check_context(template: str, variables: Mapping[str, Any]) -> None:
    """Refuse template data that holds a character no rendered file may receive."""
    bad = [*_bad_strings({k: v for k, v in variables.items() if k not in SECRET_KEYS}, template)]
    for name, secret in dict(variables.get("secrets") or {}).items():
        check_secret(f"of trunk {name}", secret)
    if bad:
        raise SpecError([f"{b}: a character that cannot reach a config file" for b in sorted(bad)])


def finalize(value: Any) -> Any:
    """Jinja2 `finalize`: every printed value passes through here."""
    if isinstance(value, str) and _PRINT_BAD.search(value):
        raise SpecError([f"a rendered value holds a quote, backslash or control character: {shown(value)}"])
    return value
