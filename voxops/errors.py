"""One exception tree. Each error knows the exit code the CLI returns for it."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented exit statuses of every voxops command."""

    OK = 0
    FINDINGS = 1  # findings at or above --fail-on
    INVALID_INPUT = 2  # usage error, bad spec, unreadable capture
    ENVIRONMENT = 3  # missing tool, unreachable endpoint, failed subprocess
    INTERNAL = 4  # a bug in voxops: details are written to a log file
    INTERRUPTED = 130


class VoxopsError(Exception):
    """Base of every expected error: printed as one line, never as a traceback."""

    exit_code: ExitCode = ExitCode.INVALID_INPUT
    hint: str | None = None
    details: tuple[str, ...] = ()  # lines printed under the message (candidates, ...)

    def __init__(self, message: str, *, hint: str | None = None, details: list[str] | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint
        if details:
            self.details = tuple(details)


class InvalidInput(VoxopsError):
    exit_code = ExitCode.INVALID_INPUT


class SpecError(InvalidInput):
    """The topology spec cannot be loaded: one entry per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        first = problems[0] if problems else "invalid spec"
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first + more)


class CaptureError(InvalidInput):
    """A capture file cannot be read at all (not a pcap, unreadable)."""


class EnvironmentProblem(VoxopsError):
    exit_code = ExitCode.ENVIRONMENT


class ToolMissing(EnvironmentProblem):
    """A program voxops needs (kamailio, tshark, sipp, ...) is not installed."""


class Unreachable(EnvironmentProblem):
    """A network endpoint did not answer."""


class CommandFailed(EnvironmentProblem):
    """A subprocess exited non-zero or timed out."""
