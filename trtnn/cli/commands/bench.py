"""`trtnn bench`: latency percentiles, throughput and GPU memory of an engine on this machine's GPU (random inputs
at each profile's opt shape), or with --device cpu of a registered model's definition on the CPU executor."""
from __future__ import annotations

import argparse
import json
from typing import Any, Dict, List

import torch

from ... import backend
from ...errors import BackendError, ConfigError
from ...runtime import Runner
from ..args import check_range, check_readable
from . import SUMMARIES
from .run import cpu_runner


def add_parser(sub: Any, parents: List[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("bench", parents=parents, help=SUMMARIES["bench"])
    p.add_argument("engine", help="engine file (from trtnn build), or with --device cpu a registered model name")
    p.add_argument("--iterations", type=int, default=100, help="timed runs (>= 1)")
    p.add_argument("--warmup", type=int, default=10, help="untimed runs first (>= 0)")
    p.add_argument("--batch", type=int, help="batch size (default: the first profile's opt batch)")
    p.add_argument("--cuda-graph", action="store_true", help="replay a captured CUDA graph per shape (GPU)")
    p.add_argument("--device", default="cuda:0", help="cuda:N, or cpu to time a model's definition on the CPU executor")
    p.add_argument("--imgsz", help="--device cpu: network input size")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=run)


def _inputs(runner: Any, batch: Any) -> Dict[str, Any]:
    feed = {}
    for spec in runner.inputs:
        shape = list(spec.shape)
        if runner.profiles and spec.name in runner.profiles[0].shapes:
            shape = list(runner.profiles[0].shapes[spec.name][1])
        if batch is not None and spec.shape[0] == -1:
            shape[0] = batch
        if spec.name == "orig_size":
            feed[spec.name] = torch.tensor([[480, 640]] * shape[0], dtype=spec.dtype)
        elif spec.name in ("conf_thres", "iou_thres"):
            feed[spec.name] = torch.full(shape, 0.5, dtype=spec.dtype)
        else:
            feed[spec.name] = (torch.rand(shape) * (255 if spec.dtype == torch.uint8 else 1)).to(spec.dtype)
    return feed


def run(args: argparse.Namespace) -> int:
    check_range("--iterations", args.iterations, 1)
    check_range("--warmup", args.warmup, 0)
    check_range("--batch", args.batch, 1)
    if args.device == "cpu":
        if args.cuda_graph:
            raise ConfigError("--cuda-graph is for GPU engines, not --device cpu")

        ns = argparse.Namespace(source=args.engine, weights=None, imgsz=args.imgsz, conf=None, iou=None, max_det=None)
        runner = cpu_runner(ns)
    else:
        if args.imgsz:
            raise ConfigError("--imgsz: for --device cpu; an engine's input sizes are built in")
        check_readable(args.engine, "ENGINE")
        ok, why = backend.runtime_status()
        if not ok:
            raise BackendError(f"cannot execute TensorRT engines here: {why}. `trtnn bench MODEL --device cpu` times "
                               f"a registered model's definition on the CPU executor instead (not the engine)")
        runner = Runner(args.engine, device=args.device, cuda_graph=args.cuda_graph)
    feed = _inputs(runner, args.batch)
    if runner.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(runner.device)
    stats = runner.benchmark(feed, iterations=args.iterations, warmup=args.warmup)
    if runner.device.type == "cuda":
        stats["gpu_memory_peak_mb"] = torch.cuda.max_memory_allocated(runner.device) / 2**20
        stats["engine_device_memory_mb"] = runner.device_memory() / 2**20
    stats["batch"] = int(next(iter(feed.values())).shape[0])
    stats["device"] = "cpu (reference executor, not the engine)" if args.device == "cpu" else str(runner.device)
    if args.json:
        print(json.dumps(stats, indent=1))
    else:
        print(f"{args.engine}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                            for k, v in stats.items()))
    return 0
