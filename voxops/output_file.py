"""Output files written whole or not at all: a temp file beside the target, renamed over it.

An existing file is never truncated by a run that then fails, and a reader (a metrics
collector, a browser reloading a ladder) never sees half a file.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from voxops.errors import EnvironmentProblem, InvalidInput, VoxopsError

# a path that cannot name a file is the user's to fix (exit 2); a full disk or a
# read-only mount is the machine's (exit 3)
_BAD_PATH = {errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG, errno.ELOOP}


def output_error(path: Path | str, exc: OSError, verb: str = "cannot write") -> VoxopsError:
    """The one-line error for a path that cannot be written (or, by `verb`, used)."""
    message = f"{path}: {verb}: {exc.strerror or exc}"
    if exc.errno in _BAD_PATH:
        return InvalidInput(message)
    return EnvironmentProblem(message)


def _mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` to write to; it replaces `path` when the block
    succeeds and is removed when it fails."""
    path = Path(path)
    if path.is_dir():
        raise InvalidInput(f"{path}: is a directory, expected a file name")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise output_error(path, exc) from exc
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, _mode(path))
        os.replace(tmp, path)
    except OSError as exc:
        raise output_error(path, exc) from exc
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write `data` (text is UTF-8) to `path` whole, or leave `path` as it was."""
    raw = data.encode() if isinstance(data, str) else data
    with atomic_path(path) as tmp:
        tmp.write_bytes(raw)


def check_not_input(output: Path | None, *inputs: Path | None) -> None:
    """Refuse an output path that is one of the command's inputs (it would be replaced)."""
    if output is None or not output.exists():
        return
    for source in inputs:
        if source is not None and source.exists() and os.path.samefile(output, source):
            raise InvalidInput(f"{output}: is the input {source}: choose another output file")
