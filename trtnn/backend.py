"""The one place that knows which TensorRT is in use and how the flavours differ.

`tensorrt` (full TensorRT) is preferred when importable, else `tensorrt_rtx` (TensorRT for RTX).
`TRTNN_BACKEND=tensorrt|tensorrt_rtx` forces one.
"""
from __future__ import annotations

import ctypes
import importlib
import logging
import os
import signal
import threading
from importlib import metadata
from importlib.util import find_spec
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from types import ModuleType
from typing import Iterator, List, Optional, Tuple

from .errors import BackendError

NAMES = ("tensorrt", "tensorrt_rtx")
INSTALL_HINT = (
    "install one: `pip install tensorrt-rtx-cu12==1.7.1.116` (TensorRT for RTX, builds on any machine; "
    "or `pip install trtnn[rtx]`) or `pip install tensorrt` (full TensorRT, from NVIDIA's package index)"
)
# Compute capabilities TensorRT-RTX runs on (TENSORRT.md).
RTX_RUNTIME_SM = {(8, 0), (8, 6), (8, 9)}
log = logging.getLogger("trtnn.tensorrt")


@lru_cache(maxsize=None)
def get() -> ModuleType:
    """The TensorRT Python module in use."""
    forced = os.environ.get("TRTNN_BACKEND")
    if forced and forced not in NAMES:
        raise BackendError(f"TRTNN_BACKEND={forced!r} is not one of {', '.join(NAMES)}")
    errors = []
    for name in (forced,) if forced else NAMES:
        try:
            return _import_holding_ctrl_c(name)
        except ImportError as e:  # pragma: no cover - depends on the machine
            errors.append(f"{name}: {e}")
    raise BackendError("no TensorRT Python package could be imported (" + "; ".join(errors) + "); " + INSTALL_HINT)


def _import_holding_ctrl_c(name: str) -> ModuleType:
    """import `name`, a Ctrl-C during it raised as KeyboardInterrupt once the import is over: TensorRT's native
    initialisation, interrupted, fails as ImportError('initialization failed'), which would read as not installed."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        return importlib.import_module(name)
    pressed: List[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    try:
        module = importlib.import_module(name)
    finally:
        signal.signal(signal.SIGINT, previous)
        if pressed:
            raise KeyboardInterrupt
    return module


def installed() -> Tuple[str, str]:
    """(module name, version) of the TensorRT that `get()` would import (TRTNN_BACKEND first), read from the
    installed packages' metadata without importing it (fast: for `trtnn info`); BackendError when none is there."""
    forced = os.environ.get("TRTNN_BACKEND")
    if forced and forced not in NAMES:
        raise BackendError(f"TRTNN_BACKEND={forced!r} is not one of {', '.join(NAMES)}")
    for module in (forced,) if forced else NAMES:
        if find_spec(module) is None:
            continue
        for dist in (module, f"{module}_cu12", f"{module}_cu13", f"{module}_cu11"):  # NVIDIA's wheel names
            try:
                return module, metadata.version(dist)
            except metadata.PackageNotFoundError:
                pass
        return module, "(version unknown)"
    raise BackendError(f"no TensorRT Python package is installed ({' or '.join((forced,) if forced else NAMES)}); "
                       + INSTALL_HINT)


def name() -> str:
    return get().__name__


def is_rtx() -> bool:
    return name() == "tensorrt_rtx"


def version() -> str:
    return get().__version__


def network_flags() -> int:
    """Creation flags for a strongly typed network (the bit value differs between versions)."""
    flag = get().NetworkDefinitionCreationFlag
    return 1 << int(flag.STRONGLY_TYPED) if hasattr(flag, "STRONGLY_TYPED") else 0


class Capture:
    """The TensorRT errors logged while this capture is active: one per build context or runner.

    The process-wide logger hands each message to the capture active in the calling thread (a ContextVar), so
    networks defined or built in different threads never see each other's errors."""

    def __init__(self) -> None:
        self._errors: List[str] = []

    @contextmanager
    def active(self) -> Iterator["Capture"]:
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)

    def add(self, message: str) -> None:
        self._errors.append(message)

    def take(self) -> List[str]:
        """The errors captured so far (first to last), clearing them."""
        errs, self._errors = self._errors, []
        return errs


_ACTIVE: ContextVar[Optional[Capture]] = ContextVar("trtnn_tensorrt_capture", default=None)


class Logger:
    """A TensorRT ILogger that forwards to Python `logging` and hands errors to the active `Capture`."""

    def __new__(cls, *args, **kwargs):
        trt = get()

        class _Impl(trt.ILogger):
            def __init__(self) -> None:
                trt.ILogger.__init__(self)
                self._levels = {
                    trt.ILogger.INTERNAL_ERROR: logging.CRITICAL,
                    trt.ILogger.ERROR: logging.ERROR,
                    trt.ILogger.WARNING: logging.WARNING,
                    trt.ILogger.INFO: logging.INFO,
                    trt.ILogger.VERBOSE: logging.DEBUG,
                }

            def log(self, severity, msg):  # must never raise
                try:
                    level = self._levels.get(severity, logging.INFO)
                    if "catchCudaError" in str(msg):  # expected on machines without a GPU (CPU-only AOT builds)
                        level = logging.DEBUG
                    elif "scales to fp32" in str(msg):  # one line per Q/DQ'd conv when scales are in fp16: noise
                        level = logging.DEBUG
                    elif "BuildCanceled" in str(msg):  # Ctrl-C: the build raises KeyboardInterrupt, not an error
                        level = logging.INFO
                    capture = _ACTIVE.get()
                    if level >= logging.ERROR and capture is not None:
                        capture.add(str(msg))
                    log.log(level, "%s", msg)
                except Exception:
                    pass

        return _Impl()


@lru_cache(maxsize=None)
def logger():
    """One process-wide logger: TensorRT requires it to outlive every builder and runtime."""
    return Logger()


def _cuda_devices() -> Tuple[List[Tuple[str, Tuple[int, int]]], str]:
    """(name, compute capability) of each CUDA device, via the driver API; or an empty list and why."""
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return [], "no NVIDIA driver (libcuda.so.1 not found)"
    if cuda.cuInit(0) != 0:
        return [], "the NVIDIA driver found no usable GPU (cuInit failed)"
    count = ctypes.c_int()
    if cuda.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value == 0:
        return [], "no CUDA device present"
    devices = []
    for i in range(count.value):
        major, minor, buf = ctypes.c_int(), ctypes.c_int(), ctypes.create_string_buffer(256)
        cuda.cuDeviceGetAttribute(ctypes.byref(major), 75, i)  # CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
        cuda.cuDeviceGetAttribute(ctypes.byref(minor), 76, i)  # ..._MINOR
        cuda.cuDeviceGetName(buf, 256, i)
        devices.append((buf.value.decode(errors="replace"), (major.value, minor.value)))
    return devices, ""


def runtime_status(module: Optional[str] = None) -> Tuple[bool, str]:
    """Whether an engine built by this backend (or by TensorRT `module`, as `installed()` names it) can run on this
    machine, and why (not)."""
    if module is None:
        try:
            module = name()
        except BackendError as e:
            return False, str(e)
    devices, why = _cuda_devices()
    if not devices:
        return False, why
    dev_name, sm = devices[0]
    if module == "tensorrt_rtx" and not (sm in RTX_RUNTIME_SM or sm[0] == 12):
        return False, f"{dev_name} has compute capability {sm[0]}.{sm[1]}; TensorRT-RTX runs on 8.0, 8.6, 8.9, 12.x"
    return True, f"{dev_name} (compute capability {sm[0]}.{sm[1]})"


def require_runtime() -> None:
    ok, why = runtime_status()
    if not ok:
        raise BackendError(f"cannot execute TensorRT engines here: {why}")


def set_workspace(config, nbytes: int) -> None:
    config.set_memory_pool_limit(get().MemoryPoolType.WORKSPACE, int(nbytes))


def info() -> dict:
    """Backend, versions and runtime availability, for `trtnn info` (read without importing TensorRT)."""
    out: dict = {}
    try:
        out["backend"], out["tensorrt_version"] = installed()
    except BackendError as e:
        out["backend"] = None
        out["error"] = str(e)
        out["can_run_engines"], out["runtime"] = False, str(e)
        return out
    out["can_run_engines"], out["runtime"] = runtime_status(out["backend"])
    return out
