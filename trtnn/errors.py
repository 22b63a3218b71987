"""One exception family for trtnn. Messages name the thing (key, module path, tensor) and the user's line."""
from __future__ import annotations

import os
import traceback
from typing import Any, Optional, Sequence

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
_USER_DIRS = (os.path.join(_PKG_DIR, "models") + os.sep,)


def _is_internal(filename: str) -> bool:
    path = os.path.abspath(filename)
    if any(path.startswith(d) for d in _USER_DIRS):
        return False
    return path.startswith(_PKG_DIR + os.sep)


def user_frame(frames: Optional[Sequence[traceback.FrameSummary]] = None) -> Optional[str]:
    """`file:line: code` of the innermost frame outside trtnn's core (shipped models count as user code) that is
    not the `raise` itself: a check in a shipped model points at the line that called it."""
    frames = traceback.extract_stack()[:-1] if frames is None else frames
    for fr in reversed(frames):
        code = (fr.line or "").strip()
        if not _is_internal(fr.filename) and "importlib" not in fr.filename and not code.startswith("raise "):
            return f"{fr.filename}:{fr.lineno}: {code}" if code else f"{fr.filename}:{fr.lineno}"
    return None


class TrtnnError(Exception):
    """Base class of every error trtnn raises on purpose."""

    def __init__(self, message: str, *, module: Optional[str] = None, where: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.module = module
        self.where = where

    def attach(self, module: Optional[str] = None, where: Optional[str] = None) -> "TrtnnError":
        """Fill in the module path / user line once, from the innermost place that knows them."""
        if self.module is None and module:
            self.module = module
        if self.where is None and where:
            self.where = where
        return self

    def __str__(self) -> str:
        text = self.message
        if self.module:
            text += f"\n  in module '{self.module}'"
        if self.where:
            text += f"\n  at {self.where}"
        return text


class BackendError(TrtnnError):
    """No usable TensorRT (or TensorRT runtime / GPU) for what was asked."""


class StateDictError(TrtnnError, KeyError):
    """Missing / unexpected keys, or a tensor whose shape or dtype does not fit."""

    def __init__(self, message: str, missing_keys: Sequence[str] = (), unexpected_keys: Sequence[str] = (), **kw):
        super().__init__(message, **kw)
        self.missing_keys = list(missing_keys)
        self.unexpected_keys = list(unexpected_keys)

    __str__ = TrtnnError.__str__


class ShapeError(TrtnnError, ValueError):
    """Shapes or arguments that cannot work together (groups, kernel larger than input, broadcasting...)."""


class UnsupportedError(TrtnnError, NotImplementedError):
    """Something TensorRT (or trtnn's CPU executor) cannot express: an op, a mode, a dtype, a layer kind."""


class BuildError(TrtnnError, RuntimeError):
    """The TensorRT builder failed; `messages` holds what TensorRT logged."""

    def __init__(self, message: str, messages: Sequence[str] = (), **kw):
        if messages:
            message += "\nTensorRT said:\n" + "\n".join(f"  {m}" for m in messages)
        super().__init__(message, **kw)
        self.messages = list(messages)


class BuildCancelled(BuildError):
    """trtnn.build(..., cancel=event) or build_network: the event was set before or while TensorRT built."""


class CheckpointError(TrtnnError, ValueError):
    """A checkpoint that cannot be read safely or does not hold what was expected."""


class InputError(TrtnnError, ValueError):
    """Inputs given to an engine or the CPU executor that do not match the network's inputs."""


class ConfigError(TrtnnError, ValueError):
    """An argument (of a trtnn function, a model constructor or a CLI flag) outside what is allowed."""


class FileError(TrtnnError, OSError):
    """A file or folder trtnn was asked to write (or read) that cannot be used: missing folder, not writable, ..."""


def require_int(value: Any, name: str, owner: str = "", minimum: int = 1, maximum: Optional[int] = None,
                unit: str = "") -> int:
    """`value` if it is an int in [minimum, maximum], else ConfigError naming (`owner`'s) argument `name`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or (
            maximum is not None and value > maximum):
        allowed = f"an int from {minimum} to {maximum}" if maximum is not None else f"an int >= {minimum}"
        raise ConfigError(f"{owner + ': ' if owner else ''}{name} must be {allowed}"
                          f"{' (' + unit + ')' if unit else ''}, got {value!r}")
    return value


def require_fraction(value: Any, name: str, owner: str) -> float:
    """`value` if it is a number in [0, 1] (a confidence or IoU threshold), else ConfigError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ConfigError(f"{owner}: {name} must be a number in [0, 1], got {value!r}")
    return value
