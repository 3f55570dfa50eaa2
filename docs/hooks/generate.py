"""mkdocs hook: pages generated at build time from the code, so they cannot drift.

- reference/cli.md     from the typer app's click tree (every command, option, default)
- reference/spec.md    from the pydantic models of voxops.spec (plus the JSON models)
- runbooks/*.md        from runbooks/*.md (front matter shown as a summary table)
- diagnostics/*.md     one page per finding code voxops can emit (the CATALOGUE)

The nav in mkdocs.yml stays hand-written and short: entries whose page does not exist
(yet) are dropped, and the runbook and diagnostic sections are filled in here.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import pkgutil
import re
import sys
import tempfile
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

# Warnings on an "mkdocs." logger fail `mkdocs build --strict`.
log = logging.getLogger("mkdocs.hooks.voxops")
HOOKS = Path(__file__).resolve().parent
REPO = HOOKS.parent.parent
GENERATED_SECTIONS = {"runbooks/index.md": "runbooks", "diagnostics/index.md": "diagnostics"}


def _scenarios() -> Any:
    spec = importlib.util.spec_from_file_location("voxops_docs_scenarios", HOOKS / "scenarios.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


@cache
def ladder_pictures() -> dict[str, tuple[bytes, bytes]]:
    """Runbook id -> (capture, SVG ladder drawn from it by `voxops ladder`).

    Empty when this build has no `ladder` command; a ladder that fails is a warning,
    which fails a strict build.
    """
    import typer.main

    from voxops.cli.main import app, main

    if "ladder" not in getattr(typer.main.get_command(app), "commands", {}):
        log.info("no `voxops ladder` in this build: diagnostic pages without pictures")
        return {}
    scenarios = _scenarios()
    spec = REPO / "inventories" / "local"
    names = ["--spec", str(spec)] if spec.is_dir() else []
    pictures = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rid in scenarios.SCENARIOS:
            pcap = scenarios.build(rid, Path(tmp))
            svg = Path(tmp) / f"{rid}.svg"
            argv = ["ladder", str(pcap), "--call-id", scenarios.call_id(rid)]
            code = main([*argv, "--format", "svg", "-o", str(svg), *names])
            if code != 0 or not svg.is_file():
                log.warning("voxops %s exited %s for the %s picture", " ".join(argv), code, rid)
                continue
            pictures[rid] = (pcap.read_bytes(), svg.read_bytes())
    return pictures


def _picture(runbook_id: str, prefix: str) -> str:
    """Markdown for the ladder picture of a runbook's scenario, or ''."""
    if runbook_id not in ladder_pictures():
        return ""
    caption = _scenarios().SCENARIOS[runbook_id][1]
    pcap = f"{prefix}captures/{runbook_id}.pcap"
    return (
        f"![SIP ladder: {caption}]({prefix}img/{runbook_id}.svg)\n\n"
        f"*{caption[0].upper()}{caption[1:]}.* Drawn by `voxops ladder` from"
        f" [this capture]({pcap}); try `voxops diagnose` on it.\n"
    )


def _runbooks() -> list[Any]:
    from voxops import runbooks

    return list(runbooks.load_all())


def _catalogue() -> dict[str, tuple[Any, str]]:
    """Finding code -> (FindingCode, declaring module), after importing every module."""
    from voxops import runbooks
    from voxops.findings import FindingCode

    where: dict[str, tuple[Any, str]] = {}
    for name in runbooks.import_all_modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, FindingCode) and value.code not in where:
                where[value.code] = (value, name)
    return dict(sorted(where.items()))


# ---------------------------------------------------------------- nav


def _generated_pages() -> set[str]:
    pages = {"reference/cli.md", "reference/spec.md", *GENERATED_SECTIONS}
    pages |= {f"runbooks/{rb.id}.md" for rb in _runbooks()}
    pages |= {f"diagnostics/{code}.md" for code in _catalogue()}
    return pages


def _prune(nav: list[Any], exists: Any) -> list[Any]:
    kept: list[Any] = []
    for entry in nav:
        if isinstance(entry, dict):
            ((title, target),) = entry.items()
            if isinstance(target, list):
                children = _prune(target, exists)
                if children:
                    kept.append({title: children})
            elif target in GENERATED_SECTIONS:
                kept.append({title: _section(target)})
            elif exists(target):
                kept.append(entry)
        elif exists(entry):
            kept.append(entry)
    return kept


def _section(index: str) -> list[Any]:
    if GENERATED_SECTIONS[index] == "runbooks":
        pages = [{rb.meta.title: f"runbooks/{rb.id}.md"} for rb in _runbooks()]
    else:
        pages = [{code: f"diagnostics/{code}.md"} for code in _catalogue()]
    return [index, *pages]


def on_config(config: Any) -> Any:
    docs = Path(config["docs_dir"])
    generated = _generated_pages()

    def exists(target: str) -> bool:
        return "://" in target or target in generated or (docs / target).is_file()

    config["nav"] = _prune(config["nav"] or [], exists)
    return config


def on_files(files: Files, config: Any) -> Files:
    pages = {
        "reference/cli.md": cli_reference(),
        "reference/spec.md": spec_reference(),
        "runbooks/index.md": runbooks_index(),
        "diagnostics/index.md": diagnostics_index(),
    }
    for rb in _runbooks():
        pages[f"runbooks/{rb.id}.md"] = runbook_page(rb)
    for code, (finding, module) in _catalogue().items():
        pages[f"diagnostics/{code}.md"] = diagnostic_page(finding, module)
    for uri, content in pages.items():
        files.append(File.generated(config, uri, content=content))
    for rid, (pcap, svg) in ladder_pictures().items():
        files.append(File.generated(config, f"diagnostics/img/{rid}.svg", content=svg))
        files.append(File.generated(config, f"diagnostics/captures/{rid}.pcap", content=pcap))
    return files


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
            name = p.name.upper() + ("..." if p.nargs < 0 else "")
            parts.append(p.metavar or (name if p.required else f"[{name}]"))
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


def _type_name(annotation: Any) -> str:
    if inspect.isclass(annotation) and issubclass(annotation, Enum):
        return "|".join(str(m.value) for m in annotation)
    plain = isinstance(annotation, type) and not getattr(annotation, "__args__", None)
    text = getattr(annotation, "__name__", None) if plain else None
    text = text or str(annotation)
    text = re.sub(r"\b[\w.]+\.(\w+)", r"\1", text)  # drop module paths
    return text.replace("NoneType", "None")


def _model_doc(model: Any, out: list[str]) -> None:
    from pydantic_core import PydanticUndefined

    out.append(f"### `{model.__name__}`\n")
    doc = inspect.getdoc(model)
    if doc and not doc.startswith("!!! abstract") and "BaseModel" not in doc:
        out.append(doc + "\n")
    extra = model.model_config.get("extra")
    if extra == "forbid":
        out.append("Unknown fields are rejected.\n")
    out.append("| Field | Type | Default | Description |\n|---|---|---|---|")
    for name, field in model.model_fields.items():
        key = field.alias or name
        if field.is_required():
            default = "**required**"
        elif field.default_factory is not None:
            default = "(empty)" if field.default_factory in (list, dict, set) else "(computed)"
        elif field.default is PydanticUndefined or field.default is None:
            default = ""
        else:
            value = field.default.value if isinstance(field.default, Enum) else field.default
            default = f"`{value}`"
        out.append(
            f"| `{key}` | {_cell(_type_name(field.annotation))} | {default} |"
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


# ---------------------------------------------------------------- runbooks


def _codes(codes: list[int]) -> str:
    return ", ".join(str(c) for c in codes) or "-"


def runbook_page(rb: Any) -> str:
    m = rb.meta
    known = _catalogue()
    # The codes that point here in code, plus any the front matter lists.
    codes = [c for c, (f, _) in known.items() if f.runbook == m.id]
    codes += [c for c in m.findings if c not in codes]
    findings = ", ".join(
        f"[`{c}`](../diagnostics/{c}.md)" if c in known else f"`{c}`" for c in codes
    )
    table = [
        "| | |\n|---|---|",
        f"| Severity | **{m.severity.value}** |",
        f"| Symptoms | {'<br>'.join(_cell(s) for s in m.symptoms)} |",
        f"| SIP codes | {_codes(m.sip_codes)} |",
        f"| Metrics | {', '.join(f'`{x}`' for x in m.metrics) or '-'} |",
        f"| Findings | {findings or '-'} |",
        f"| Terminal | `voxops runbook {m.id}` |",
    ]
    page = f"# {m.title}\n\n" + "\n".join(table) + "\n\n" + rb.body.strip() + "\n"
    picture = _picture(m.id, "../diagnostics/")
    return page + (f"\n## What it looks like\n\n{picture}" if picture else "")


def runbooks_index() -> str:
    out = [
        "# Runbooks\n",
        "One page per incident, written to be followed at 3 a.m.: confirm, mitigate, verify,"
        " escalate, commands first. In a terminal, `voxops runbook QUERY` finds the right one"
        " by SIP code (`voxops runbook 503`), finding code, metric (`pdd`) or words with typos"
        ' (`voxops runbook "one way audo"`); `voxops runbook --list` lists them.\n',
        "| Runbook | Severity | SIP codes | Symptoms |\n|---|---|---|---|",
    ]
    for rb in _runbooks():
        m = rb.meta
        out.append(
            f"| [{_cell(m.title)}]({m.id}.md) | {m.severity.value} | {_codes(m.sip_codes)}"
            f" | {_cell(m.symptoms[0])} |"
        )
    out.append(RUNBOOK_COMMAND)
    return "\n".join(out) + "\n"


RUNBOOK_COMMAND = """
## In a terminal: `voxops runbook`

```sh
voxops runbook 503                  # by SIP code: the runbook about it first
voxops runbook trunk-down           # by finding code or runbook id
voxops runbook pdd                  # by metric
voxops runbook one way audo         # by words, typos forgiven (quotes optional)
voxops runbook --list               # every runbook (also with no query)
voxops runbook 503 --format markdown > incident.md
voxops runbook 503 --open           # this site's page for it
```

How a query is answered, in order: a runbook id; a finding code listed in a runbook's
front matter; a SIP code (a runbook listing the code first in `sip_codes` ranks above
one listing it later; the others are shown under *See also*); a metric; a finding code declared anywhere in voxops; then words,
matched against id, title, finding codes and metrics (strongly) and symptoms (weakly),
each word forgiven a typo or a plural. Nothing close enough: exit code 2 and the
nearest runbooks as a hint.

`--format json` prints the front matter fields (`id`, `title`, `symptoms`, `sip_codes`,
`metrics`, `findings`, `severity`) plus `matched_by` (why it matched), `related` (other
runbooks that matched) and `body` (the Markdown). With `--list` it prints a list of the
front matter objects. `--open` opens `$VOXOPS_DOCS_URL/runbooks/ID/` or, when that is
unset, the page of a site built in the checkout (`mkdocs build`).

## Writing a runbook

A runbook is `runbooks/ID.md`: YAML front matter (the fields above; `id` equals the file
name), then `## Confirm`, `## Mitigate` (or `## Fix`), `## Verify`, `## Escalate`.
Commands first, in `sh` blocks; every `voxops ...` line shown is checked against the
real command tree by the test suite, and lines stay under 77 characters so they paste
as one command from an 80-column terminal.
"""


# ---------------------------------------------------------------- diagnostics


def diagnostic_page(finding: Any, module: str) -> str:
    titles = {rb.id: rb.meta.title for rb in _runbooks()}
    runbook = titles.get(finding.runbook, finding.runbook)
    return "\n".join(
        [
            f"# `{finding.code}`\n",
            f"{finding.summary}\n",
            "| | |\n|---|---|",
            f"| Default severity | **{finding.severity.value}** |",
            f"| Reported by | `{module}` |",
            f"| Runbook | [{_cell(runbook)}](../runbooks/{finding.runbook}.md) |",
            "",
            "In JSON output the finding carries `code`, `severity`, `message`, `runbook`,"
            " `where` and `evidence` (see the [spec reference](../reference/spec.md)).",
            f"`voxops runbook {finding.code}` shows the runbook in a terminal.\n",
            _picture(finding.runbook, ""),
        ]
    )


def diagnostics_index() -> str:
    catalogue = _catalogue()
    out = [
        "# Diagnostics\n",
        "Every check voxops runs reports findings with a stable code. Each code has a page"
        " here and points at the runbook that answers it.\n",
    ]
    if not catalogue:
        out.append("No finding codes are declared in this build.\n")
        return "\n".join(out)
    out.append("| Code | Severity | What it means | Runbook |\n|---|---|---|---|")
    for code, (finding, _module) in catalogue.items():
        out.append(
            f"| [`{code}`]({code}.md) | {finding.severity.value} | {_cell(finding.summary)}"
            f" | [{finding.runbook}](../runbooks/{finding.runbook}.md) |"
        )
    return "\n".join(out) + "\n"
