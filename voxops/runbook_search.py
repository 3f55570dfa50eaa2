"""Free-text runbook search: what a tired engineer types, matched to what runbooks say.

A query and every runbook pass through the same normalisation: words a little
misspelt are corrected to the nearest word the runbooks (or the phrase table) know,
on-call phrasing is rewritten to the runbooks' terms ("not answering" -> "timeout
down", "spof" -> "single point of failure"), stop words and plurals are dropped.
Each remaining query word scores by where it occurs (title and id over finding codes,
metrics and SIP codes over symptoms) times how rare it is among the runbooks
(IDF), and a runbook whose single symptom line holds several of the words gains a
bonus: "calls to one carrier time out" answers "carrier timeout" better than two
runbooks that each mention one of the words.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Sequence
from typing import Protocol


class _Facts(Protocol):
    """The front matter fields the index reads (`runbooks.RunbookMeta` has them)."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def symptoms(self) -> list[str]: ...
    @property
    def sip_codes(self) -> list[int]: ...
    @property
    def metrics(self) -> list[str]: ...
    @property
    def findings(self) -> list[str]: ...


class Searchable(Protocol):
    """A runbook as the index sees it: an id and its front matter."""

    @property
    def id(self) -> str: ...
    @property
    def meta(self) -> _Facts: ...

_TOKEN = re.compile(r"[a-z0-9.]+")
STOPWORDS = frozenset(
    {"a", "an", "and", "are", "at", "by", "call", "calls", "for", "from", "in", "is", "it"}
    | {"no", "not", "of", "on", "or", "our", "the", "to", "too", "with", "we", "get"}
    | {"sip", "code", "codes", "response", "responses", "error", "errors", "lot", "lots"}
    | {"all", "after", "before", "very", "long", "my", "some", "still", "keep", "keeps", "again"}
    | {"can", "t", "cannot", "can't", "don", "doesn", "isn", "seeing", "see", "getting", "got", "points"}
    | {"one", "only", "anymore", "since", "when", "why", "what", "how", "help", "issue", "problem"}
)
# On-call phrasing -> the words runbooks use. Applied to queries and runbooks alike.
PHRASES: tuple[tuple[str, str], ...] = (
    (r"\btim(?:e|ed|es|ing)[ -]?outs?\b|\btimout\b", "timeout"),
    (r"\b(?:invite|setup|call setup|request) timeout\b", "setup timeout 408"),
    (r"\bnot (?:answering|responding|reachable|replying)\b|\bunreachable\b|\bunresponsive\b"
     r"|\bno (?:answer|reply|response) from\b|\bdoes ?n.?t answer\b|\bstops answering\b", "timeout down"),
    (r"\bcan.?t hear\b|\bcannot hear\b|\bhears? nothing\b|\bno (?:audio|sound|voice)\b"
     r"|\bone[ -]?way\b|\bone direction\b", "one way audio"),
    (r"\bspof\b|\bsingle points? of failure\b", "single point failure"),
    (r"\bbusy\b", "busy 486"),
    (r"\bproxy[ -]auth\w*(?: required)?\b|\bauth\w* required\b", "auth"),
    (r"\bkamailio\b|\bproxy\b|\bsbc node\b", "sbc node"),
    (r"\bringing\b|\bringback\b|\bpost[ -]dial\b", "ringing pdd"),
    (r"\bcodec mismatch\b|\bno common codec\b|\bcodecs? refused\b|\bcodecs? rejected\b", "codec rejection 488"),
    (r"\bchoppy\b|\bbreaking up\b|\bbroken up\b|\bgarbled\b|\bcuts? out\b", "choppy packet loss"),
    (r"\banswer(?:ed)? (?:seizure )?(?:rate|ratio)\b", "asr"),
    (r"\blost\b|\blosing\b|\bdropouts?\b", "loss"),
    (r"\bcert\b|\bcerts\b|\bcertificates?\b|\bx509\b", "certificate"),
    (r"\bexpir\w*", "expiry"),
    (r"\bpropagat\w*", "propagation"),
    (r"\bsrv\b|\bnaptr\b|\bresolvers?\b", "dns srv"),
    (r"\bscann\w*|\bsipvicious\b|\bfriendly.scanner\b|\bsvwar\b|\bsvmap\b", "scanner sipvicious"),
    (r"\btranscod\w*|\bg\.?729\b|\bg\.?711\b", "transcoding g729"),
    (r"\b(?:takes?|taking|took) (?:too )?long to (?:reply|respond|answer|talk|speak)\b|\bslow to (?:reply|respond)\b"
     r"|\b(?:bot|agent) (?:is )?slow\b", "response latency slow"),
    (r"\bspeech recognition\b|\bstt\b|\btranscription\b", "speech recognition accuracy"),
    (r"\bdeploy\w*|\broll ?back\w*|\brollout\b", "deploy rollback"),
    (r"\bregist\w*", "registration"),
    (r"\bunauthori[sz]ed\b|\bauthenticat\w*|\bcredentials?\b|\bpassword\b", "auth"),
    (r"\bdropp?e?d\b|\bfalling\b|\bfell\b", "drop"),
    (r"\bnot connecting\b|\bdon.?t connect\b|\bfail to connect\b|\bfailing to connect\b", "connect failed setup"),
)
_PHRASES = tuple((re.compile(p), r) for p, r in PHRASES)
# Where a word occurs, and how much that says about the runbook.
WEIGHTS = {"title": 1.0, "tags": 0.9, "symptoms": 0.8}
COOCCUR_BONUS = 0.25  # times the share of query words found on one symptom line
MIN_WORD_SCORE = 0.75  # a weaker resemblance is noise


def _plain(word: str) -> str:
    return word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith("ss") else word


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().replace("-", " ").replace("/", " "))


def rewrite(text: str) -> str:
    text = " ".join(tokens(text.replace("'", "")))
    for pattern, replacement in _PHRASES:
        text = pattern.sub(replacement, text)
    return text


def words(text: str) -> list[str]:
    return [_plain(w) for w in tokens(rewrite(text)) if w not in STOPWORDS]


class Index:
    """The runbooks' words by field, their document frequencies and the lexicon for typos."""

    def __init__(self, books: Sequence[Searchable]) -> None:
        self.books = tuple(books)
        self.fields: dict[str, dict[str, set[str]]] = {}
        self.lines: dict[str, list[set[str]]] = {}
        df: dict[str, int] = {}
        for rb in self.books:
            m = rb.meta
            title = set(words(f"{m.id} {m.title}"))
            tags = set(words(" ".join([*m.findings, *m.metrics]))) | {str(c) for c in m.sip_codes}
            lines = [set(words(s)) for s in [m.title, *m.symptoms]]
            symptoms = set().union(*lines)
            self.fields[rb.id] = {"title": title, "tags": tags, "symptoms": symptoms}
            self.lines[rb.id] = lines
            for w in title | tags | symptoms:
                df[w] = df.get(w, 0) + 1
        self.df = df
        self.known = set().union(*(f["title"] | f["tags"] | f["symptoms"] for f in self.fields.values()))
        triggers = tokens(" ".join(re.sub(r"\\[a-zA-Z]|[^a-z0-9 ]", " ", p) + " " + r for p, r in PHRASES))
        self.lexicon = self.known | {w for w in triggers if len(w) >= 4}

    def correct(self, text: str) -> str:
        """`text` with each unknown word of 3+ letters replaced by its nearest known word."""
        out = []
        for w in tokens(text.replace("'", "")):
            if (len(w) >= 3 and not w.isdigit() and w not in STOPWORDS and w not in self.lexicon and _plain(w) not in self.lexicon
                    and not any(p.search(w) for p, _ in _PHRASES)):
                # a typo rarely changes the first letter: "ansering", not "almost" for "lost"
                near = difflib.get_close_matches(w, [v for v in self.lexicon if v[0] == w[0]], n=1, cutoff=0.8)
                w = near[0] if near else w
            out.append(w)
        return " ".join(out)

    def terms(self, query: str, limit: int) -> list[str]:
        # phrases first (their words are no typos), then typos, then the phrases typos hid
        distinct = list(dict.fromkeys(words(self.correct(rewrite(query)))))[:limit]
        return [w for w in distinct if similarity(w, self.known) > 0]

    def idf(self, word: str) -> float:
        n = len(self.books)
        hits = self.df.get(word) or max((self.df.get(k, 0) for k in self.df if similarity(word, {k}) > 0), default=0)
        return math.log(1 + n / max(hits, 1))

    def score(self, rb_id: str, terms: list[str]) -> float:
        if not terms:
            return 0.0
        fields = self.fields[rb_id]
        weights = [self.idf(t) for t in terms]
        found = [max(WEIGHTS[name] * similarity(t, vocab) for name, vocab in fields.items()) for t in terms]
        base = sum(w * f for w, f in zip(weights, found, strict=True)) / sum(weights)
        together = max((sum(1 for t in terms if similarity(t, line) > 0) for line in self.lines[rb_id]), default=0)
        return base + (COOCCUR_BONUS * together / len(terms) if together > 1 else 0.0)


_BUILT: list[Index] = []  # the last few, most recent last (runbooks are not hashable)


def index_of(books: Sequence[Searchable]) -> Index:
    for built in _BUILT:
        if len(built.books) == len(books) and all(a is b for a, b in zip(built.books, books, strict=True)):
            return built
    _BUILT.append(Index(books))
    del _BUILT[:-4]
    return _BUILT[-1]


def similarity(word: str, vocab: set[str]) -> float:
    if word in vocab:
        return 1.0
    best = 0.0
    for v in vocab:
        shared = len(os.path.commonprefix([word, v]))
        if shared >= 4 and shared >= min(len(word), len(v)):
            best = max(best, 0.9)  # one is the start of the other: "certificat", "dns"
        elif shared >= 6:
            best = max(best, 0.85)  # same stem: "transcoder", "transcoding"
        elif abs(len(v) - len(word)) <= 3:
            matcher = difflib.SequenceMatcher(None, word, v)
            if matcher.real_quick_ratio() > best and matcher.quick_ratio() > best:
                best = max(best, matcher.ratio())
    return best if best >= MIN_WORD_SCORE else 0.0
