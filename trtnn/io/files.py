"""Checked, atomic file writes: a file is either the old one or the complete new one, never half-written.

Every failure is a FileError naming the user's path and the reason (never the temporary file); temporary files
left beside a target by a killed save are removed by the next save to that target.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
import time
from typing import Iterator, Sequence, Union

from ..errors import FileError

PathLike = Union[str, "os.PathLike[str]"]

_REASONS = {
    errno.ENOENT: "its folder does not exist",
    errno.ENOTDIR: "a part of its folder path is not a folder",
    errno.EISDIR: "it is a folder",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "no space left on the device (disk full)",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "the file is too large for the file system",
    errno.ENAMETOOLONG: "the name is too long",
}


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp makes 0600 files, and some writers re-create the file they are given: every saved file gets the mode
# a plain open() would give a new file, or keeps the mode of the file it replaces.
_NEW_FILE_MODE = 0o666 & ~_umask()


def file_error(path: PathLike, err: OSError, what: str = "output") -> FileError:
    """A FileError naming the user's `path` (not whatever temporary file `err` mentions) and the reason."""
    reason = _REASONS.get(err.errno or 0) or err.strerror or type(err).__name__
    return FileError(f"cannot write {what} '{os.fspath(path)}': {reason}")


def check_output_path(path: PathLike, *, what: str = "output", not_same_as: Sequence[PathLike] = ()) -> str:
    """Check, before any long work, that `path` can be written: not empty, its folder exists, is a folder and is
    writable (also on a read-only file system), it is not a folder, an existing file there is writable, and it is
    none of `not_same_as` (e.g. the weights being read). Returns the path; raises FileError naming it."""
    path = os.fspath(path)
    if not path:
        raise FileError(f"{what} path is empty")
    full = os.path.abspath(path)
    directory = os.path.dirname(full)
    if os.path.isdir(full) or path.endswith(os.sep):
        raise FileError(f"{what} '{path}' is a folder; give a file path")
    if not os.path.isdir(directory):
        problem = "is not a folder" if os.path.exists(directory) else "does not exist"
        raise FileError(f"{what} '{path}': folder '{directory}' {problem}")
    if not os.access(directory, os.W_OK | os.X_OK) or os.statvfs(directory).f_flag & os.ST_RDONLY:
        raise FileError(f"{what} '{path}': folder '{directory}' is not writable")
    if os.path.lexists(full) and not os.path.isfile(full):
        raise FileError(f"{what} '{path}' exists and is not a regular file")
    if os.path.exists(full) and not os.access(full, os.W_OK):
        raise FileError(f"{what} '{path}' exists and is not writable")
    for other in not_same_as:
        if not other:
            continue
        other_path = os.fspath(other)
        same = os.path.abspath(other_path) == full or (
            os.path.exists(other_path) and os.path.exists(full) and os.path.samefile(full, other_path))
        if same:
            raise FileError(f"{what} '{path}' is the same file as '{other_path}', which is read from")
    return path


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _remove_stale_temps(path: str, started: float) -> None:
    """Remove temporary files of earlier saves to `path` (`.<name>.<pid>-<random>.tmp`, or mkstemp's plain
    `.<name>.<random>.tmp`) that are older than this save and whose writing process is gone."""
    directory, name = os.path.split(path)
    pattern = re.compile(rf"\.{re.escape(name)}\.(?:(\d+)-)?[a-z0-9_]{{8}}\.tmp")
    for entry in os.listdir(directory):
        match = pattern.fullmatch(entry)
        if match is None or (match.group(1) is not None and _pid_alive(int(match.group(1)))):
            continue
        tmp = os.path.join(directory, entry)
        with contextlib.suppress(OSError):
            if os.stat(tmp).st_mtime < started:
                os.remove(tmp)


@contextlib.contextmanager
def atomic_path(path: PathLike, what: str = "output") -> Iterator[str]:
    """Yield a temporary path beside `path`; on success give it the final mode, fsync it and `os.replace` it onto
    `path`. The path is checked first (check_output_path); any OSError becomes a FileError naming `path`.

    On any exception the temporary file is removed and `path` is left untouched.
    """
    user = check_output_path(path, what=what)
    full = os.path.abspath(user)
    directory = os.path.dirname(full)
    _remove_stale_temps(full, time.time())
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(full)}.{os.getpid()}-", suffix=".tmp", dir=directory)
        os.close(fd)
    except OSError as e:
        raise file_error(user, e, what) from None
    try:
        try:
            mode = os.stat(full).st_mode & 0o7777
        except FileNotFoundError:
            mode = _NEW_FILE_MODE
        yield tmp
        os.chmod(tmp, mode)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, full)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        if isinstance(e, OSError) and not isinstance(e, FileError):
            raise file_error(user, e, what) from e
        raise
    _fsync_dir(directory)


def atomic_write_bytes(path: PathLike, data: bytes, what: str = "output") -> None:
    """Write `data` to `path` atomically; failures raise FileError naming `path`."""
    with atomic_path(path, what) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)


def _fsync_dir(directory: str) -> None:
    """Make the rename durable (best effort; not every OS lets a directory be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
