"""`trtnn info`: backend, versions, and whether engines can run on this machine."""
from __future__ import annotations

import argparse
import json
import sys
from importlib import metadata
from typing import Any, List

from ... import backend
from ...version import __version__
from . import SUMMARIES


def add_parser(sub: Any, parents: List[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("info", parents=parents, help=SUMMARIES["info"])
    p.add_argument("--json", action="store_true", help="print the facts as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    info = backend.info()
    info.update(trtnn=__version__, torch=_version("torch"), numpy=_version("numpy"), python=sys.version.split()[0])
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(f"trtnn {info['trtnn']}  python {info['python']}  torch {info['torch']}  numpy {info['numpy']}")
    if info["backend"]:
        print(f"backend: {info['backend']} {info['tensorrt_version']} (TRTNN_BACKEND to choose)")
    else:
        print(f"backend: none — {info['error']}")
    print(f"engines can {'' if info['can_run_engines'] else 'NOT '}run here: {info['runtime']}")
    return 0


def _version(dist: str) -> str:
    """An installed package's version, from its metadata (importing torch would take seconds)."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"
