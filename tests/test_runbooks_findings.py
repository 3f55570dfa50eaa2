"""Every finding code voxops can emit leads to a runbook that exists.

All modules are imported (each declares its codes at import time into CATALOGUE);
an import failure fails the test: every dependency is installed, so a module that cannot
be imported is a bug, not an optional extra.
"""

from __future__ import annotations

import re

import pytest

from voxops import runbooks
from voxops.findings import CATALOGUE, FindingCode, Severity


@pytest.fixture(scope="module")
def catalogue() -> dict[str, FindingCode]:
    imported = runbooks.import_all_modules()
    assert "voxops.cli.runbook" in imported and "voxops.runbooks" in imported
    return dict(CATALOGUE)


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
