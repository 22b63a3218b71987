"""`trtnn info [PLAN]`: backend, versions, and whether engines can run on this machine; with PLAN, what that plan
needs (TensorRT flavour and version, GPUs, flags, refit), its inputs, outputs and profiles."""
from __future__ import annotations

import argparse
import json
import sys
from importlib import metadata
from typing import Any, Dict, List

from ... import backend
from ...version import __version__
from . import SUMMARIES


def add_parser(sub: Any, parents: List[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("info", parents=parents, help=SUMMARIES["info"] + "; with PLAN: what that engine needs")
    p.add_argument("plan", nargs="?", help="an engine file (trtnn plan + .json, or ultralytics .engine)")
    p.add_argument("--json", action="store_true", help="print the facts as JSON")
    p.set_defaults(func=run)


def _plan_facts(path: str) -> Dict[str, Any]:
    from ...io.engine_file import plan_requirements, read_engine_file  # only with PLAN: keeps `trtnn info` fast
    from ..args import check_readable  # only with PLAN: args imports torch

    check_readable(path, "PLAN")
    file = read_engine_file(path)
    facts = plan_requirements(file)
    meta = file.metadata
    facts.update({k: meta[k] for k in ("task", "precision", "imgsz", "profiles") if meta.get(k) is not None})
    facts["inputs"] = [f"{t['name']} {t['shape']} {t['dtype']}" for t in meta.get("inputs", [])]
    facts["outputs"] = [f"{t['name']} {t['shape']} {t['dtype']}" for t in meta.get("outputs", [])]
    if meta.get("names"):
        facts["classes"] = len(meta["names"])
    return facts


def run(args: argparse.Namespace) -> int:
    info = backend.info()
    info.update(trtnn=__version__, torch=_version("torch"), numpy=_version("numpy"), python=sys.version.split()[0])
    if args.plan:
        info["plan"] = _plan_facts(args.plan)
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(f"trtnn {info['trtnn']}  python {info['python']}  torch {info['torch']}  numpy {info['numpy']}")
    if info["backend"]:
        print(f"backend: {info['backend']} {info['tensorrt_version']} (TRTNN_BACKEND to choose)")
    else:
        print(f"backend: none — {info['error']}")
    print(f"engines can {'' if info['can_run_engines'] else 'NOT '}run here: {info['runtime']}")
    for key, value in info.get("plan", {}).items():
        print(f"  {key}: {value}")
    return 0


def _version(dist: str) -> str:
    """An installed package's version, from its metadata (importing torch would take seconds)."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"
