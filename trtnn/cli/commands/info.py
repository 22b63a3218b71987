"""`trtnn info`: backend, versions, and whether engines can run on this machine."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, List


def add_parser(sub: Any, parents: List[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("info", parents=parents, help="backend, versions, and whether engines can run on this machine")
    p.add_argument("--json", action="store_true", help="print the facts as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy
    import torch

    from ... import __version__, backend

    info = backend.info()
    info.update(trtnn=__version__, torch=torch.__version__, numpy=numpy.__version__, python=sys.version.split()[0])
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
