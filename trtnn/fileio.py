"""Atomic file writes: a file is either the old one or the complete new one, never half-written."""
from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Iterator, Sequence, Union

from .errors import FileError

PathLike = Union[str, "os.PathLike[str]"]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp makes 0600 files; new files get the mode a plain open() would give them.
_NEW_FILE_MODE = 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[str]:
    """Yield a temporary path beside `path`; on success fsync it and `os.replace` it onto `path`.

    On any exception the temporary file is removed and `path` is left untouched.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        try:
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        except FileNotFoundError:
            os.chmod(tmp, _NEW_FILE_MODE)
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    _fsync_dir(directory)


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_path(path) as tmp:
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


def check_output_path(path: PathLike, *, what: str = "output", not_same_as: Sequence[PathLike] = ()) -> str:
    """Check, before any long work, that `path` can be written: its folder exists and is writable, it is not a
    folder, and it is none of `not_same_as` (e.g. the weights being read). Returns the path; raises FileError."""
    path = os.fspath(path)
    if not path:
        raise FileError(f"{what} path is empty")
    full = os.path.abspath(path)
    directory = os.path.dirname(full)
    if os.path.isdir(full):
        raise FileError(f"{what} '{path}' is a folder; give a file path")
    if not os.path.isdir(directory):
        raise FileError(f"{what} '{path}': folder '{directory}' does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise FileError(f"{what} '{path}': folder '{directory}' is not writable")
    if os.path.exists(full) and not os.access(full, os.W_OK):
        raise FileError(f"{what} '{path}' exists and is not writable")
    for other in not_same_as:
        if other and os.path.exists(os.fspath(other)) and os.path.exists(full) and os.path.samefile(full, other):
            raise FileError(f"{what} '{path}' is the same file as '{os.fspath(other)}', which is read from")
        if other and os.path.abspath(os.fspath(other)) == full:
            raise FileError(f"{what} '{path}' is the same file as '{os.fspath(other)}', which is read from")
    return path
