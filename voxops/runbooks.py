"""Runbook index and lookup over voxops/data/runbooks/*.md.

A runbook is Markdown with YAML front matter (`RunbookMeta`). Lookup answers a tired
engineer's query: a SIP code (`503`), a finding code (`trunk-down`), a metric (`pdd`), a
runbook id, or free text with typos (`one way audo`). Only light imports here: the
lookup must answer instantly.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from voxops.errors import EnvironmentProblem, InvalidInput
from voxops.findings import Severity
from voxops.resources import data_dir, docs_site
from voxops.runbook_search import index_of

KEBAB = r"^[a-z0-9]+(-[a-z0-9]+)*$"
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
# Below this a free-text match is a guess, shown as a suggestion rather than an answer.
MATCH_THRESHOLD = 0.72
# A query is a few words typed at 3 a.m.; a pasted log is read for its first few words only,
# so a lookup costs the same whatever is pasted.
MAX_QUERY_CHARS = 400
MAX_TERMS = 12


class RunbookMeta(BaseModel):
    """The front matter every runbook carries. Field names are a public interface."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=KEBAB, description="Kebab-case id, equal to the file stem.")
    title: str = Field(min_length=3)
    symptoms: list[str] = Field(min_length=1, description="What the engineer sees or hears.")
    sip_codes: list[int] = Field(default_factory=list, description="Most telling code first.")
    metrics: list[str] = Field(
        default_factory=list, description="Metrics that move (asr, pdd, mos, ...)."
    )
    findings: list[str] = Field(default_factory=list, description="Finding codes it answers.")
    severity: Severity

    @field_validator("sip_codes")
    @classmethod
    def _sip_code_range(cls, codes: list[int]) -> list[int]:
        bad = [c for c in codes if not 100 <= c <= 699]
        if bad:
            raise ValueError(f"not SIP response codes: {bad}")
        return codes

    @field_validator("findings", "metrics")
    @classmethod
    def _kebab(cls, names: list[str]) -> list[str]:
        bad = [n for n in names if not re.match(KEBAB, n)]
        if bad:
            raise ValueError(f"not kebab-case: {bad}")
        return names


class Runbook(BaseModel):
    model_config = ConfigDict(frozen=True)

    meta: RunbookMeta
    body: str
    path: Path

    @property
    def id(self) -> str:
        return self.meta.id

    def markdown(self) -> str:
        """Title plus body, without front matter: pasteable into an incident channel."""
        return f"# {self.meta.title}\n\n{self.body.strip()}\n"


class Match(BaseModel):
    model_config = ConfigDict(frozen=True)

    runbook: Runbook
    score: float
    reason: str


def split_front_matter(text: str, source: str) -> tuple[dict[str, Any], str]:
    found = _FRONT_MATTER.match(text)
    if not found:
        raise InvalidInput(f"{source}: no front matter (a '---' block at the top)")
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: faster
    try:
        data = yaml.load(found.group(1), Loader=loader)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{source}: front matter is not YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{source}: front matter must be a mapping")
    return data, text[found.end() :]


def load_runbook(path: Path) -> Runbook:
    data, body = split_front_matter(path.read_text(encoding="utf-8"), str(path))
    try:
        meta = RunbookMeta.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInput(f"{path}: {problems}") from None
    if meta.id != path.stem:
        raise InvalidInput(f"{path}: id {meta.id!r} differs from the file name {path.stem!r}")
    return Runbook(meta=meta, body=body, path=path)


@lru_cache(maxsize=4)
def load_all(directory: Path | None = None) -> tuple[Runbook, ...]:
    root = directory or data_dir("runbooks")
    if not root.is_dir():
        raise EnvironmentProblem(f"no runbooks directory at {root}")
    return tuple(load_runbook(p) for p in sorted(root.glob("*.md")))


def search(query: str, runbooks: tuple[Runbook, ...] | None = None) -> list[Match]:
    """Runbooks answering `query`, best first; empty when nothing is a real answer."""
    books = runbooks if runbooks is not None else load_all()
    q = " ".join(query.lower().split())
    exact: list[Match] = []
    for rb in books:
        m = rb.meta
        if q == m.id:
            exact.append(Match(runbook=rb, score=10.0, reason="runbook id"))
        elif q in m.findings:
            exact.append(Match(runbook=rb, score=9.0, reason=f"finding code {q}"))
        elif re.fullmatch(r"[1-6]xx", q) and (
            in_class := [i for i, c in enumerate(m.sip_codes) if c // 100 == int(q[0])]
        ):
            exact.append(Match(runbook=rb, score=8.0 - 0.1 * in_class[0], reason=f"SIP {q}"))
        elif q.isdigit() and int(q) in m.sip_codes:
            # The code listed first is the one the runbook is about; among equals, the one
            # whose symptoms name the code.
            rank = m.sip_codes.index(int(q)) - 0.5 * any(q in s.split() for s in m.symptoms)
            exact.append(Match(runbook=rb, score=8.0 - 0.1 * rank, reason=f"SIP {q}"))
        elif q in m.metrics:
            exact.append(
                Match(runbook=rb, score=7.0 - 0.1 * m.metrics.index(q), reason=f"metric {q}")
            )
    if exact:
        # Equal ranks: the more severe runbook first.
        return sorted(exact, key=lambda x: (-x.score, -x.runbook.meta.severity.rank, x.runbook.id))
    index = index_of(tuple(books))
    terms = index.terms(q[:MAX_QUERY_CHARS], MAX_TERMS)
    scored = [Match(runbook=rb, score=index.score(rb.id, terms), reason="text") for rb in books]
    hits = [s for s in scored if s.score >= MATCH_THRESHOLD]
    if hits:
        return sorted(hits, key=lambda x: (-x.score, -x.runbook.meta.severity.rank, x.runbook.id))
    # Last resort: a code declared in code only (imports the finding-code modules).
    catalogued = _catalogue_runbook(q, books)
    if catalogued is not None:
        return [Match(runbook=catalogued, score=9.0, reason=f"finding code {q}")]
    return []


def _catalogue_runbook(code: str, books: tuple[Runbook, ...]) -> Runbook | None:
    """A finding code not listed in any front matter: ask the code catalogue itself.

    Importing the finding-code modules costs time, so this runs only for kebab-case
    queries that neither front matter nor words answered.
    """
    if not re.match(KEBAB, code) or "-" not in code:
        return None
    from voxops.findings import CATALOGUE, load_catalogue

    found = CATALOGUE.get(code) or load_catalogue().get(code)
    if found is None:
        return None
    return next((rb for rb in books if rb.id == found.runbook), None)


def suggest(query: str, runbooks: tuple[Runbook, ...] | None = None, n: int = 3) -> list[Runbook]:
    """The nearest runbooks to a query that matched nothing."""
    books = runbooks if runbooks is not None else load_all()
    index = index_of(tuple(books))
    terms = index.terms(query[:MAX_QUERY_CHARS], MAX_TERMS)
    scored = sorted(((index.score(rb.id, terms), rb) for rb in books), key=lambda x: (-x[0], x[1].id))
    return [rb for score, rb in scored[:n] if score > 0]


_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
_INLINE = re.compile(r"`(voxops [^`]+)`")


def shown_commands(body: str) -> list[str]:
    """Every `voxops ...` command line a runbook shows, in code blocks or inline code."""
    found: list[str] = []
    for block in _FENCE.findall(body):
        # A trailing backslash continues the command on the next line, as in a shell.
        for line in block.replace("\\\n", " ").splitlines():
            line = " ".join(line.strip().removeprefix("$ ").split())
            if line.startswith("voxops "):
                found.append(line)
    prose = _FENCE.sub("", body)
    found += _INLINE.findall(prose)
    return found


def _web_base(base: str) -> str:
    """$VOXOPS_DOCS_URL when it is an http(s) URL: anything else (`--flag`, `file:`,
    `javascript:`) must not reach a browser's command line."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(base)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc
            or not base.isprintable() or any(c.isspace() for c in base)):
        raise EnvironmentProblem(
            f"VOXOPS_DOCS_URL is not an http or https URL: {base[:80]!r}",
            hint="export VOXOPS_DOCS_URL=https://<your docs>",
        )
    return base


def docs_url(runbook_id: str) -> str:
    """The runbook's docs page: $VOXOPS_DOCS_URL, else the locally built site."""
    base = os.environ.get("VOXOPS_DOCS_URL")
    if base:
        return f"{_web_base(base).rstrip('/')}/runbooks/{runbook_id}/"
    page = docs_site() / "runbooks" / runbook_id / "index.html"
    if page.is_file():
        return page.as_uri()
    raise EnvironmentProblem(
        "the docs site is not built and VOXOPS_DOCS_URL is not set",
        hint="run `mkdocs build` in the checkout, or export VOXOPS_DOCS_URL=https://<your docs>",
    )
