"""Output files written whole or not at all, and never through something that is not a file.

Every file voxops writes goes to a temporary file beside the target, created with
O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600 and an unpredictable name, and renamed over the
target once complete. So an existing file is never truncated by a run that then fails,
a reader never sees half a file, and a link planted at the temporary name is not
followed. The target itself must be a regular file (or absent): a symbolic link, a
device, a FIFO or a socket at the output path is refused, never replaced or written
through; `-o -` writes to standard output instead.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from voxops.errors import EnvironmentProblem, InvalidInput, VoxopsError

STDOUT = "-"

# a path that cannot name a file is the user's to fix (exit 2); a full disk or a
# read-only mount is the machine's (exit 3)
_BAD_PATH = {errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG, errno.ELOOP}
_NOT_FILES = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def output_error(path: Path | str, exc: OSError, verb: str = "cannot write") -> VoxopsError:
    """The one-line error for a path that cannot be written (or, by `verb`, used)."""
    message = f"{path}: {verb}: {exc.strerror or exc}"
    if exc.errno in _BAD_PATH:
        return InvalidInput(message)
    return EnvironmentProblem(message)


def is_stdout(path: Path | str | None) -> bool:
    """Whether an output option asks for standard output (`-o -`)."""
    return path is not None and str(path) == STDOUT


def _refuse_kind(path: Path | str, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISLNK(mode):
        raise InvalidInput(f"{path}: is a symbolic link: voxops does not write through links",
                           hint="give the path of the file itself, or -o - for standard output")
    if stat.S_ISDIR(mode):
        raise InvalidInput(f"{path}: is a directory, expected a file name")
    kind = next((name for test, name in _NOT_FILES if test(mode)), "not a regular file")
    raise InvalidInput(f"{path}: is {kind}, not a regular file: voxops only replaces regular files",
                       hint="give a file name, or -o - for standard output")


def existing_mode_at(dir_fd: int, name: str, shown: Path | str) -> int | None:
    """The mode of the regular file at name, None when there is none; anything else is refused."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise output_error(shown, exc) from exc
    _refuse_kind(shown, st.st_mode)
    return stat.S_IMODE(st.st_mode)


def check_output(path: Path | str | None) -> None:
    """Refuse, before any work is done, an output path voxops would not write to."""
    if path is None or is_stdout(path):
        return
    p = Path(path)
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise output_error(p, exc) from exc
    _refuse_kind(p, st.st_mode)


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _create_temp(dir_fd: int, name: str, shown: Path | str) -> tuple[int, str]:
    """A new, empty, 0600 file beside name, opened for writing; never an existing one."""
    for _ in range(16):
        tmp = f".{name[:180]}.{secrets.token_hex(8)}.tmp"
        try:
            return os.open(tmp, _TEMP_FLAGS, 0o600, dir_fd=dir_fd), tmp
        except FileExistsError:
            continue
        except OSError as exc:
            raise output_error(shown, exc) from exc
    raise EnvironmentProblem(f"{shown}: cannot create a temporary file beside it")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


@contextmanager
def _replacing(dir_fd: int, name: str, shown: Path | str, mode: int | None) -> Iterator[tuple[int, str]]:
    """A temporary file (fd, name) in dir_fd that replaces `name` when the block succeeds."""
    old_mode = existing_mode_at(dir_fd, name, shown)
    fd, tmp = _create_temp(dir_fd, name, shown)
    done = False
    try:
        yield fd, tmp
        st, own = os.stat(tmp, dir_fd=dir_fd, follow_symlinks=False), os.fstat(fd)
        if (st.st_dev, st.st_ino) != (own.st_dev, own.st_ino):
            raise EnvironmentProblem(f"{shown}: its temporary file {tmp} was replaced while writing")
        os.fchmod(fd, mode if mode is not None else old_mode if old_mode is not None else _default_mode())
        os.fsync(fd)
        existing_mode_at(dir_fd, name, shown)  # still a regular file or absent
        os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        done = True
    except OSError as exc:
        raise output_error(shown, exc) from exc
    finally:
        os.close(fd)
        if not done:
            with suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)


def _open_dir(path: Path) -> int:
    try:
        return os.open(path, _DIR_FLAGS)
    except OSError as exc:
        raise output_error(path, exc) from exc


@contextmanager
def _folder_of(path: Path | str) -> Iterator[tuple[int, Path]]:
    """(fd of the folder that holds path, path): the folder is the user's and may be a link."""
    target = Path(path)
    if target.name in ("", ".", ".."):
        raise InvalidInput(f"{path}: is a directory, expected a file name")
    dir_fd = _open_dir(target.parent)
    try:
        yield dir_fd, target
    finally:
        os.close(dir_fd)


def replace_at(dir_fd: int, name: str, data: bytes, *, mode: int | None = None,
               shown: Path | str | None = None) -> None:
    """Replace the regular file `name` in the folder dir_fd with `data`, whole or not at all.

    `mode` defaults to the replaced file's mode (or 0666 less the umask for a new file);
    the data is written while the file is still 0600, so a secret is never exposed.
    """
    with _replacing(dir_fd, name, shown or name, mode) as (fd, _):
        try:
            _write_all(fd, data)
        except OSError as exc:
            raise output_error(shown or name, exc) from exc


def write_atomic(path: Path | str, data: bytes | str, *, mode: int | None = None) -> None:
    """Write `data` (text is UTF-8) to `path` whole, or leave `path` as it was; `-` is stdout."""
    raw = data.encode() if isinstance(data, str) else data
    if is_stdout(path):
        sys.stdout.flush()
        sys.stdout.buffer.write(raw)
        sys.stdout.buffer.flush()
        return
    with _folder_of(path) as (dir_fd, target):
        replace_at(dir_fd, target.name, raw, mode=mode, shown=target)


@contextmanager
def atomic_file(path: Path | str) -> Iterator[BinaryIO]:
    """A binary file for a writer of `path`, open on the new temporary file itself (never
    reopened by name, so a link swapped in at that name redirects nothing); it replaces
    `path` when the block succeeds and is removed when it fails. With `-`, the finished
    file is copied to standard output."""
    if is_stdout(path):
        with tempfile.TemporaryFile(prefix="voxops-out-") as private:
            yield private
            private.flush()
            private.seek(0)
            sys.stdout.flush()
            while chunk := private.read(1 << 20):
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
        return
    with (_folder_of(path) as (dir_fd, target), _replacing(dir_fd, target.name, target, None) as (fd, _),
          os.fdopen(os.dup(fd), "wb") as fh):
        yield fh
        fh.flush()


def open_tree(root: Path, parts: Sequence[str], stack: ExitStack) -> int:
    """The folder root/parts... as an fd (closed with `stack`), creating missing folders.

    `root` is the user's choice and may go through links; below it, a symbolic link
    in place of a folder is refused, so nothing is written outside the tree.
    """
    try:
        root.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InvalidInput(f"{root}: is not a folder: render writes a tree of files into a folder") from None
    except OSError as exc:
        raise output_error(root, exc) from exc
    fd = _open_dir(root)
    stack.callback(os.close, fd)
    where = root
    for part in parts:
        where = where / part
        try:
            os.mkdir(part, 0o755, dir_fd=fd)
        except FileExistsError:
            pass
        except OSError as exc:
            raise output_error(where, exc) from exc
        try:
            fd = os.open(part, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise InvalidInput(f"{where}: is a symbolic link or not a folder: voxops does not write through links",
                                   hint="remove it, or render into a new folder") from None
            raise output_error(where, exc) from exc
        stack.callback(os.close, fd)
    return fd


def check_not_input(output: Path | None, *inputs: Path | None) -> None:
    """Refuse an output path that is one of the command's inputs (it would be replaced), or
    that is not a regular file (a device, a FIFO, a link): before any work is done."""
    if output is None or is_stdout(output):
        return
    check_output(output)
    if not output.exists():
        return
    for source in inputs:
        if source is not None and source.exists() and os.path.samefile(output, source):
            raise InvalidInput(f"{output}: is the input {source}: choose another output file")
