"""`trtnn bench`: time an engine on this machine's GPU with random inputs."""
from __future__ import annotations

import argparse
from typing import Any, List

import torch

from ...runtime import Runner
from ..args import check_range, check_readable
from . import SUMMARIES


def add_parser(sub: Any, parents: List[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("bench", parents=parents, help=SUMMARIES["bench"])
    p.add_argument("engine", help="engine file (from trtnn build)")
    p.add_argument("--iterations", type=int, default=100, help="timed runs (>= 1)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_range("--iterations", args.iterations, 1)
    check_readable(args.engine, "ENGINE")
    runner = Runner(args.engine)
    inputs = {i.name: (torch.rand(i.shape) * 255).to(i.dtype) for i in runner.inputs}
    stats = runner.benchmark(inputs, iterations=args.iterations)
    print(f"{args.engine}: " + ", ".join(f"{k} {v:.3f}" for k, v in stats.items()))
    return 0
