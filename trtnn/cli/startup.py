"""Ctrl-C while the `trtnn` command starts: imported first thing by trtnn/__init__.py.

In a process started as the `trtnn` console script or `python -m trtnn.cli`, Ctrl-C during the seconds that
importing torch and TensorRT takes exits at once with one line and code 130 (nothing has been written yet); main()
hands SIGINT back to Python (KeyboardInterrupt) before it parses the arguments. Other processes are left alone.
"""
from __future__ import annotations

import os
import signal
import sys
from typing import Any


def _is_cli_process() -> bool:
    script = os.path.basename(sys.argv[0]) if sys.argv else ""
    orig = getattr(sys, "orig_argv", [])  # while `-m` locates its module, sys.argv[0] is only "-m"
    by_m = any(a == "-m" and b in ("trtnn.cli", "trtnn.cli.__main__") for a, b in zip(orig, orig[1:]))
    return script in ("trtnn", "trtnn.exe") or by_m


def _exit_at_once(signum: int, frame: Any) -> None:
    os.write(2, b"trtnn: interrupted\n")
    os._exit(130)


def release() -> None:
    """From here on Ctrl-C raises KeyboardInterrupt again (main() turns it into one line and exit code 130)."""
    if signal.getsignal(signal.SIGINT) is _exit_at_once:
        signal.signal(signal.SIGINT, signal.default_int_handler)


if _is_cli_process() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not if SIGINT is ignored
    signal.signal(signal.SIGINT, _exit_at_once)
