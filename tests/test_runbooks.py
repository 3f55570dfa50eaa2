"""Runbook front matter, lookup and the `voxops runbook` command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from voxops import runbooks
from voxops.errors import InvalidInput
from voxops.resources import data_dir

# Runbook ids other parts of voxops point their finding codes at.
REQUIRED = {
    "503-spike", "asr-drop", "high-pdd", "one-way-audio", "silent-transcoding",
    "packet-loss-low-mos", "trunk-down", "sbc-failover", "agent-pool-saturated",
    "cert-expiry", "dns-propagation", "auth-failures", "codec-rejection-488",
    "deploy-rollback", "spec-errors", "single-point-of-failure", "sbc-exposure",
}  # fmt: skip
FILES = sorted(data_dir("runbooks").glob("*.md"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_front_matter_is_valid(path: Path) -> None:
    rb = runbooks.load_runbook(path)  # raises InvalidInput naming the file on any problem
    assert rb.meta.id == path.stem
    headings = set(re.findall(r"^## (\w+)", rb.body, re.M))
    # What a tired engineer looks for, in every runbook.
    assert {"Confirm", "Verify", "Escalate"} <= headings, headings
    assert headings & {"Mitigate", "Fix"}, headings


def test_required_runbooks_exist() -> None:
    assert {p.stem for p in FILES} >= REQUIRED


def test_finding_codes_belong_to_one_runbook() -> None:
    owners: dict[str, str] = {}
    for rb in runbooks.load_all():
        for code in rb.meta.findings:
            assert code not in owners, f"{code} in {owners[code]} and {rb.id}"
            owners[code] = rb.id


def test_links_between_runbooks_resolve() -> None:
    ids = {p.stem for p in FILES}
    for rb in runbooks.load_all():
        for target in re.findall(r"\]\(([^)#]+)\.md[)#]", rb.body):
            assert target in ids, f"{rb.id} links to missing runbook {target}"


def test_code_lines_fit_a_terminal() -> None:
    # Wider lines wrap in an 80-column terminal and no longer paste as one command.
    for rb in runbooks.load_all():
        for block in re.findall(r"^ *```[^\n]*\n(.*?)^ *```", rb.body, re.M | re.S):
            for line in block.splitlines():
                assert len(line.strip()) <= 76, f"{rb.id}: {line}"


def test_bad_front_matter_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "oops.md"
    bad.write_text("---\nid: oops\ntitle: Oops\nsymptoms: []\nseverity: loud\n---\nbody\n")
    with pytest.raises(InvalidInput, match=r"oops\.md: .*symptoms.*severity"):
        runbooks.load_runbook(bad)
    bad.write_text("no front matter\n")
    with pytest.raises(InvalidInput, match="no front matter"):
        runbooks.load_runbook(bad)
    other = tmp_path / "other.md"
    other.write_text("---\nid: oops\ntitle: Oops\nsymptoms: [x]\nseverity: info\n---\n")
    with pytest.raises(InvalidInput, match="differs from the file name"):
        runbooks.load_runbook(other)


def _first(query: str) -> str:
    return runbooks.search(query)[0].runbook.id


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("503", "503-spike"),
        ("486", "agent-pool-saturated"),
        ("401", "auth-failures"),
        ("488", "codec-rejection-488"),
        ("pdd", "high-pdd"),
        ("mos", "packet-loss-low-mos"),
        ("trunk-down", "trunk-down"),
        ("tls-fallback-udp", "cert-expiry"),
        ("one way audio", "one-way-audio"),
        ("one way audo", "one-way-audio"),
        ("oneway audio", "one-way-audio"),
        ("dead air", "dead-air"),
        ("post dial delay", "high-pdd"),
        ("choppy audio", "packet-loss-low-mos"),
        ("certificat", "cert-expiry"),
        ("g729", "silent-transcoding"),
        ("trunk dwn", "trunk-down"),
        ("ivr overflow", "agent-pool-saturated"),
        ("Registration", "auth-failures"),
        ("lost packets", "packet-loss-low-mos"),
        ("5xx", "503-spike"),
        ("sip 503", "503-spike"),
        ("we get lots of 486", "agent-pool-saturated"),
        ("options", "trunk-down"),
        ("firewall", "one-way-audio"),
    ],
)
def test_lookup(query: str, expected: str) -> None:
    assert _first(query) == expected


def test_sip_code_ranks_the_runbook_about_it_first() -> None:
    ids = [m.runbook.id for m in runbooks.search("503")]
    assert ids[0] == "503-spike"
    assert {"trunk-down", "sbc-failover"} <= set(ids[1:])


def test_unknown_query_matches_nothing_but_suggests() -> None:
    assert runbooks.search("purple banana") == []
    assert runbooks.suggest("purple banana") == []
    assert runbooks.search("carrier codec weirdness refused") == []
    assert runbooks.suggest("carrier codec weirdness refused")[0].id == "codec-rejection-488"
    assert runbooks.search("codecs refused by carrier")[0].runbook.id == "codec-rejection-488"


def test_cli_list(cli) -> None:
    code, out, _ = cli("runbook", "--list")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == [p.stem for p in FILES]
    code, bare, _ = cli("runbook")
    assert (code, bare) == (0, out)


def test_cli_list_json(cli) -> None:
    code, out, _ = cli("runbook", "--list", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert {r["id"] for r in rows} >= REQUIRED
    assert set(rows[0]) == set(runbooks.RunbookMeta.model_fields)


def test_cli_shows_rendered_runbook(cli) -> None:
    code, out, _ = cli("runbook", "503")
    assert code == 0
    assert "503 spike on a trunk" in out
    assert "kamcmd dispatcher.list" in out
    assert "```" not in out  # rendered, not raw Markdown
    assert "See also:" in out


def test_cli_words_without_quotes(cli) -> None:
    code, out, _ = cli("runbook", "one", "way", "audo", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["id"] == "one-way-audio"
    assert data["matched_by"] == "text"
    assert "## Confirm" in data["body"]


def test_cli_markdown(cli) -> None:
    code, out, _ = cli("runbook", "trunk-down", "--format", "markdown")
    assert code == 0
    assert out.startswith("# Trunk down by OPTIONS\n")
    assert "```sh\nvoxops probe" in out


def test_cli_unknown_query_suggests_nearest(cli) -> None:
    code, out, err = cli("runbook", "carrier codec weirdness refused")
    assert code == 2
    assert out == ""
    assert "no runbook matches" in err
    assert "nearest: codec-rejection-488" in err
    code, _, err = cli("runbook", "purple banana")
    assert code == 2
    assert "nearest" not in err
    assert "voxops runbook --list" in err


def test_cli_open(cli, monkeypatch, tmp_path) -> None:
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    monkeypatch.setenv("VOXOPS_DOCS_URL", "https://docs.example.org/voxops/")
    code, out, _ = cli("runbook", "503", "--open")
    assert code == 0
    assert opened == ["https://docs.example.org/voxops/runbooks/503-spike/"]
    assert out.strip() == opened[0]


@pytest.fixture
def checkout(monkeypatch, tmp_path: Path):
    """A checkout at tmp_path: the real runbooks, no built site unless the test adds one."""
    (tmp_path / "runbooks").symlink_to(data_dir("runbooks"))
    monkeypatch.setattr(runbooks, "data_dir", lambda name: tmp_path / name)
    monkeypatch.setattr(runbooks, "docs_site", lambda: tmp_path / "site")
    monkeypatch.delenv("VOXOPS_DOCS_URL", raising=False)
    runbooks.load_all.cache_clear()
    yield tmp_path
    runbooks.load_all.cache_clear()


def test_cli_open_without_docs_is_environment_problem(cli, checkout) -> None:
    code, _, err = cli("runbook", "503", "--open")
    assert code == 3
    assert "VOXOPS_DOCS_URL" in err


def test_cli_open_uses_a_locally_built_site(cli, monkeypatch, checkout) -> None:
    page = checkout / "site" / "runbooks" / "trunk-down" / "index.html"
    page.parent.mkdir(parents=True)
    page.write_text("<html></html>")
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    code, _, _ = cli("runbook", "options-ping-disabled", "--open")
    assert code == 0
    assert opened == [page.as_uri()]


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_numbered_steps_stay_one_list_on_the_docs_site(path: Path) -> None:
    """A code block inside a numbered step must not end the list (the docs would restart at 1)."""
    import markdown
    import yaml

    config = yaml.load((Path(__file__).parent.parent / "mkdocs.yml").read_text(), Loader=yaml.Loader)
    extensions = [e if isinstance(e, str) else next(iter(e)) for e in config["markdown_extensions"]]
    body = runbooks.load_runbook(path).body
    html = markdown.markdown(body, extensions=[e for e in extensions if e != "pymdownx.superfences"]
                             + ["pymdownx.superfences"])
    assert html.count("<ol>") == len(re.findall(r"^1\. ", body, re.M)), html
