"""The `voxops calls` table: one summary row per dialog, with the filters users ask for."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from voxops.analysis.dialogs import Dialog
from voxops.analysis.hops import CallHop, Failover, call_path
from voxops.analysis.policy import Policy
from voxops.errors import InvalidInput

INVITE_ONLY = ("INVITE",)
DIALOG_METHODS = ("INVITE", "REGISTER", "OPTIONS", "SUBSCRIBE", "MESSAGE", "NOTIFY", "REFER",
                  "PUBLISH", "INFO", "UPDATE", "BYE", "CANCEL", "ACK", "PRACK")


class CallSummary(BaseModel):
    """One dialog. JSON field names are a public interface (docs/capture.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    call_id: str
    method: str
    from_uri: str | None
    to_uri: str | None
    start: float = Field(description="epoch seconds of the first message")
    end: float = Field(description="epoch seconds of the last message")
    final_status: int | None = Field(description="final response to the initial request")
    duration_s: float | None = Field(description="200 OK -> BYE, seconds")
    pdd_ms: float | None = Field(description="RFC 6076 SRD; null when not applicable")
    answered_at: float | None
    messages: int
    retransmissions: int
    legs: list[str] = Field(description="Call-IDs of the other legs of the same call")
    user_agent: str | None
    trunk: str | None = Field(default=None, description="carrier/trunk of the carrier-facing hop (needs --spec)")
    hops: list[CallHop] = Field(default_factory=list, description="who sent the INVITE to whom, each attempt's outcome")
    failovers: list[Failover] = Field(default_factory=list)


@dataclass(slots=True)
class CallFilter:
    all_methods: bool = False
    numbers: list[str] = field(default_factory=list)  # substring of the from/to user
    since: float | None = None
    until: float | None = None
    statuses: list[str] = field(default_factory=list)  # 486, 4xx, answered, failed, none
    call_ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for s in self.statuses:
            if not _STATUS.match(s.lower()):
                raise InvalidInput(
                    f"--status {s!r}: expected a code (486), a class (4xx), "
                    "'answered', 'failed' or 'none'"
                )

    def matches(self, d: Dialog) -> bool:
        if not self.all_methods and d.method not in INVITE_ONLY:
            return False
        if self.call_ids and not any(c.startswith(tuple(self.call_ids)) for c in [d.call_id, *d.legs]):
            return False
        if self.numbers:
            users = f"{d.from_uri or ''} {d.to_uri or ''}"
            if not any(n in users for n in self.numbers):
                return False
        if self.since is not None and d.end < self.since:
            return False
        if self.until is not None and d.start > self.until:
            return False
        return not self.statuses or any(_status_matches(s.lower(), d.final_status) for s in self.statuses)


_STATUS = re.compile(r"^(\d{3}|[1-6]xx|answered|failed|none)$")


def _status_matches(spec: str, status: int | None) -> bool:
    if spec == "none":
        return status is None
    if status is None:
        return False
    if spec == "answered":
        return 200 <= status < 300
    if spec == "failed":
        return status >= 300
    if spec.endswith("xx"):
        return status // 100 == int(spec[0])
    return status == int(spec)


def summarize(dialogs: Sequence[Dialog], flt: CallFilter | None = None,
              policy: Policy | None = None, *, hops: bool = True) -> list[CallSummary]:
    """The rows; `hops=False` keeps only each call's trunk of its path (the table shows no hops)."""
    by_id = {d.call_id: d for d in dialogs}
    return list(summary_rows(dialogs, lambda d: [by_id[c] for c in d.legs if c in by_id], flt, policy,
                             hops=hops))


def summary_rows(dialogs: Iterable[Dialog], legs_of: Callable[[Dialog], list[Dialog]],
                 flt: CallFilter | None = None, policy: Policy | None = None, *,
                 hops: bool = True) -> Iterator[CallSummary]:
    """The rows one at a time, from dialogs in start order and the dialogs of each one's legs."""
    flt = flt or CallFilter()
    policy = policy or Policy()
    for d in dialogs:
        if not flt.matches(d):
            continue
        path = call_path([d, *legs_of(d)], policy)
        yield _summary(d, path.trunk, path.hops if hops else [], path.failovers if hops else [])


def _summary(d: Dialog, trunk: str | None, hops: list[CallHop], failovers: list[Failover]) -> CallSummary:
    return CallSummary(
        call_id=d.call_id,
        method=d.method,
        from_uri=d.from_uri,
        to_uri=d.to_uri,
        start=d.start,
        end=d.end,
        final_status=d.final_status,
        duration_s=d.duration_s,
        pdd_ms=d.pdd_ms,
        answered_at=d.answered_at,
        messages=d.message_count or len(d.messages),
        retransmissions=d.retransmissions,
        legs=d.legs,
        user_agent=d.user_agent,
        trunk=trunk,
        hops=hops,
        failovers=failovers,
    )
