"""mkdocs hook: pages generated at build time from the code, so they cannot drift.

- reference/cli.md     from the typer app's click tree (reference.py)
- reference/spec.md    from the pydantic models of voxops.spec (reference.py)
- runbooks/*.md        from voxops/data/runbooks/*.md (front matter shown as a summary table)
- diagnostics/*.md     one page per finding code voxops can emit (the CATALOGUE), with
                       the ladder `voxops ladder` draws of a small capture (scenarios.py)

The nav in mkdocs.yml stays hand-written and short: entries whose page does not exist
(yet) are dropped, and the runbook and diagnostic sections are filled in here.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

# Warnings on an "mkdocs." logger fail `mkdocs build --strict`.
log = logging.getLogger("mkdocs.hooks.voxops")
HOOKS = Path(__file__).resolve().parent
REPO = HOOKS.parent.parent
GENERATED_SECTIONS = {"runbooks/index.md": "runbooks", "diagnostics/index.md": "diagnostics"}


def _sibling(name: str) -> Any:
    """A module next to this hook (mkdocs loads hooks by path, not as a package)."""
    spec = importlib.util.spec_from_file_location(f"voxops_docs_{name}", HOOKS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def _scenarios() -> Any:
    return _sibling("scenarios")


_reference = _sibling("reference")
cli_reference = _reference.cli_reference
spec_reference = _reference.spec_reference
_models_in = _reference._models_in
_cell = _reference._cell


@cache
def ladder_pictures() -> dict[str, tuple[bytes, bytes]]:
    """Runbook id -> (capture, SVG ladder drawn from it by `voxops ladder`).

    A ladder that fails (or a build without `voxops ladder`) is a warning, which fails a
    strict build.
    """
    from voxops.cli.main import main

    scenarios = _scenarios()
    spec = REPO / "voxops" / "data" / "inventories" / "local"
    names = ["--spec", str(spec)] if spec.is_dir() else []
    pictures = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rid in scenarios.SCENARIOS:
            pcap = scenarios.build(rid, Path(tmp))
            svg = Path(tmp) / f"{rid}.svg"
            argv = ["ladder", str(pcap), "--call-id", scenarios.call_id(rid)]
            audio = ["--audio"] if rid in scenarios.AUDIO_SCENARIOS else []  # the energy lanes show the finding
            code = main([*argv, "--format", "svg", "-o", str(svg), *audio, *names])
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


@cache
def _runbooks() -> list[Any]:
    from voxops import runbooks

    runbooks.load_all.cache_clear()  # `mkdocs serve` rebuilds after an edit
    return list(runbooks.load_all())


@cache
def _catalogue() -> dict[str, tuple[Any, str]]:
    """Finding code -> (FindingCode, declaring module), from the finding-code modules."""
    from voxops.findings import FINDING_MODULES, FindingCode

    where: dict[str, tuple[Any, str]] = {}
    for name in FINDING_MODULES:
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
    for cached in (_runbooks, _catalogue, ladder_pictures):
        cached.cache_clear()  # once per build
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
        f"| Severity | **{m.severity.value}** |\n|---|---|",
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
front matter; a SIP code or class (`503`, `5xx`: a runbook listing the code first in
`sip_codes` ranks above one listing it later; the others are shown under *See also*); a
metric; then words, matched against id and title (weight 1), finding codes and metrics
(0.9) and symptoms (0.8), each word forgiven a typo or a plural, filler such as "sip" or
"errors" ignored; last, a finding code declared anywhere in voxops. Equal ranks put the
more severe runbook first. Nothing close enough: exit code 2 and the nearest runbooks
as a hint. Words are read from the first 400 characters only, at most 12 distinct ones,
so a pasted log line is answered as fast as a typed query.

`--format json` prints the front matter fields (`id`, `title`, `symptoms`, `sip_codes`,
`metrics`, `findings`, `severity`) plus `matched_by` (why it matched), `related` (other
runbooks that matched) and `body` (the Markdown). With `--list` it prints a list of the
front matter objects. `--open` opens `$VOXOPS_DOCS_URL/runbooks/ID/` or, when that is
unset, the page of a site built in the checkout (`mkdocs build`). `VOXOPS_DOCS_URL` must
be an `http` or `https` URL (no spaces): anything else is refused with exit code 3
before a browser is started.

## Writing a runbook

A runbook is `voxops/data/runbooks/ID.md`: YAML front matter (the fields above; `id` equals the file
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
            f"| Default severity | **{finding.severity.value}** |\n|---|---|",
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
