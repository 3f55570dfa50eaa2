"""Every finding code voxops can emit leads to a runbook that exists.

The catalogue comes from the explicit list of finding-code modules; a scan of the source
tree checks that list is whole, so a module declaring codes cannot be forgotten.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import voxops
from voxops import runbooks
from voxops.findings import CATALOGUE, FINDING_MODULES, FindingCode, Severity, load_catalogue


@pytest.fixture(scope="module")
def catalogue() -> dict[str, FindingCode]:
    return load_catalogue()


def _declaring_modules(root: Path) -> set[str]:
    """Modules whose source calls FindingCode(...) at module level."""
    found = set()
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            value = getattr(node, "value", None)
            if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "FindingCode":
                rel = path.relative_to(root.parent).with_suffix("")
                found.add(".".join(rel.parts))
                break
    return found


def test_the_finding_module_list_is_whole() -> None:
    root = Path(voxops.__file__).parent
    declared = _declaring_modules(root)
    assert "voxops.analysis.faults" in declared  # the scan sees declarations
    assert set(FINDING_MODULES) == declared


def test_runbook_lookup_by_code_works_without_the_agent_extra() -> None:
    # pjsua2 comes with the [agent] extra only; a runbook lookup must never need it.
    code = next(c for c, f in load_catalogue().items() if f.runbook)
    script = (
        "import sys; sys.modules['pjsua2'] = None\n"
        "from voxops.findings import load_catalogue\n"
        "from voxops import runbooks\n"
        "runbooks.load_all()\n"
        "import json; print(json.dumps(sorted(load_catalogue())))\n"
        f"print([m.runbook.id for m in runbooks.search({code!r})])\n"
        "assert 'pjsua2' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    codes = json.loads(done.stdout.splitlines()[0])
    assert code in codes and len(codes) == len(load_catalogue())
    assert load_catalogue()[code].runbook in done.stdout.splitlines()[1]


@pytest.fixture(scope="module")
def books() -> dict[str, runbooks.Runbook]:
    return {rb.id: rb for rb in runbooks.load_all()}


def test_every_finding_code_has_a_runbook(catalogue, books) -> None:
    missing = {c: f.runbook for c, f in catalogue.items() if f.runbook not in books}
    assert missing == {}, f"finding codes pointing at runbooks that do not exist: {missing}"


def test_finding_codes_are_kebab_case(catalogue) -> None:
    assert [c for c in catalogue if not re.match(runbooks.KEBAB, c)] == []


def test_front_matter_agrees_with_the_code(catalogue, books) -> None:
    # A code a runbook lists and the code declares must point the same way; codes listed
    # but not declared belong to parts not in this tree and are checked when they are.
    disagree = {
        code: (rb.id, catalogue[code].runbook)
        for rb in books.values()
        for code in rb.meta.findings
        if code in catalogue and catalogue[code].runbook != rb.id
    }
    assert disagree == {}


def test_front_matter_codes_are_no_typos(catalogue, books) -> None:
    # A listed code absent from the catalogue may belong to a part not in this tree (it is
    # reported, not failed); one that is a near miss of a declared code is a typo.
    import difflib
    import warnings

    unknown = sorted(
        {(rb.id, c) for rb in books.values() for c in rb.meta.findings if c not in catalogue}
    )
    typos = {
        (rb_id, code): near
        for rb_id, code in unknown
        if (near := difflib.get_close_matches(code, list(catalogue), n=1, cutoff=0.85))
    }
    assert typos == {}
    if unknown and catalogue:
        warnings.warn(f"codes listed in runbooks but not declared: {unknown}", stacklevel=1)


def test_lookup_by_a_code_only_the_catalogue_knows(books) -> None:
    # A code declared in code but absent from every front matter still finds its runbook.
    FindingCode("xqzw-vukj-hgf", Severity.info, "trunk-down", "lookup test")
    try:
        hits = runbooks.search("xqzw-vukj-hgf")
        assert [h.runbook.id for h in hits] == ["trunk-down"]
    finally:
        del CATALOGUE["xqzw-vukj-hgf"]
