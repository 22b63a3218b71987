"""`trtnn export-triton`: a Triton Inference Server model repository from one or more engines."""
from __future__ import annotations

import argparse
import os
from typing import Any, List

from ...deploy.triton import write_repository
from ...io.engine_file import read_engine_file
from ..args import check_range, check_readable


def add_parser(sub: Any, parents: List[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("export-triton", parents=parents,
                       help="write a Triton model repository (config.pbtxt, labels, plans) for engines")
    p.add_argument("engines", nargs="+", help="engine file(s) with their trtnn metadata; several = one per GPU "
                                              "(give --cc for each)")
    p.add_argument("--repo", required=True, help="model repository folder (created; the model goes in REPO/NAME)")
    p.add_argument("--name", help="model name (default: the first engine's file name without extension)")
    p.add_argument("--max-batch", type=int, help="Triton max_batch_size (default: the profiles' max batch)")
    p.add_argument("--instances", type=int, default=1, help="instances per GPU and profile (>= 1)")
    p.add_argument("--cc", action="append", default=[], metavar="MAJOR.MINOR",
                   help="compute capability of each engine, in order (cc_model_filenames), e.g. --cc 8.6 --cc 12.0")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_range("--instances", args.instances, 1)
    check_range("--max-batch", args.max_batch, 1)
    for path in args.engines:
        check_readable(path, "ENGINE")
    name = args.name or os.path.splitext(os.path.basename(args.engines[0]))[0]
    engines = [read_engine_file(p) for p in args.engines]
    folder = write_repository(engines, args.repo, name, max_batch=args.max_batch, instances=args.instances,
                              compute_capabilities=args.cc)
    print(f"wrote {folder}: config.pbtxt, {len(engines)} plan(s); serve it with:\n"
          f"  docker run --gpus all -p 8000:8000 -p 8001:8001 -v {os.path.abspath(args.repo)}:/models "
          f"nvcr.io/nvidia/tritonserver:<yy.mm>-py3 tritonserver --model-repository=/models")
    return 0
