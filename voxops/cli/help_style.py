"""How `--help` names values: `PATH`, `TEXT`, `text|json`, never Python types or braces.

Typer labels option values with their Python annotation (`<bool>`, `<list[str]>`,
`<path>`) and writes a required argument as `{pcap}` in the usage line; rich folds a
long label mid-word (`mermai d`). Installed once by `build_app`: flags show no value,
other options an upper-case noun, choices split at `|` onto lines of their own, and
arguments their upper-case name (`voxops ladder [OPTIONS] PCAP`).
"""

from __future__ import annotations

from typing import Any

CHOICE_LINE = 14  # longest line of a choice list in the help's type column

_NOUNS = {int: "N", float: "NUMBER", str: "TEXT"}


def _wrap_choices(choices: list[str]) -> str:
    """`text|svg|png|html|mermaid` as lines of at most CHOICE_LINE characters, split at `|`."""
    lines: list[str] = []
    for choice in choices:
        if lines and len(lines[-1]) + 1 + len(choice) <= CHOICE_LINE:
            lines[-1] += "|" + choice
        else:
            if lines:
                lines[-1] += "|"
            lines.append(choice)
    return "\n".join(lines)


def value_label(param: Any) -> str | None:
    """The label of an option's value in help; None for a flag (it takes none)."""
    if param.metavar is not None:
        return str(param.metavar)
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    desc = param.type_descriptor
    if desc.is_choice and desc.choices is not None:
        return _wrap_choices([str(getattr(c, "value", c)) for c in desc.choices])
    if desc.is_path:
        return "PATH"
    annotation = desc.annotation
    args = getattr(annotation, "__args__", ())
    if getattr(annotation, "__origin__", None) is list and args:
        annotation = args[0]
    return _NOUNS.get(annotation, "VALUE")


def argument_name(param: Any) -> str:
    return str(param.metavar or param.name or "ARG").upper()


def install() -> None:
    """Replace typer's value labels (idempotent; a typer without these hooks keeps its own)."""
    from typer import core

    option, argument = getattr(core, "TyperOption", None), getattr(core, "TyperArgument", None)
    if option is None or argument is None or getattr(option, "_voxops_labels", False):
        return
    if not all(hasattr(argument, a) for a in ("_usage_display_name", "display_name_raw")):
        return

    def usage_name(self: Any) -> str:
        name = argument_name(self)
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    option.display_type_rich = lambda self, ctx: value_label(self)
    argument.display_type_rich = lambda self, ctx: None
    argument.display_name_raw = property(argument_name)
    argument._usage_display_name = usage_name
    option._voxops_labels = True
