"""Time from a torch state_dict to a TensorRT plan, split into network definition and TensorRT builder time.

Target (issue: core): the definition costs under 10% of the builder time for a ~200-layer conv network.
Run: python benchmarks/bench_definition.py
"""
from __future__ import annotations

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import torch  # noqa: E402

import trtnn  # noqa: E402
from common import report  # noqa: E402
from trtnn.models.resnet import resnet50, resnet101  # noqa: E402


def one(name: str, factory, dtype: str, repeat: int = 3):
    state = {k: torch.randn_like(v) if v.dtype.is_floating_point else v for k, v in factory().state_dict().items()}
    loads, defines, builds = [], [], []
    for _ in range(repeat):
        model = factory()
        t0 = time.perf_counter()
        model.load_state_dict(state, assign=True)  # as `trtnn build --weights` loads a checkpoint: no copy
        loads.append(time.perf_counter() - t0)
        net = trtnn.define(model, [trtnn.Input("x", (1, 3, 224, 224))], dtype=dtype)
        engine = trtnn.build_network(net, progress=False)
        defines.append(engine.define_seconds)
        builds.append(engine.build_seconds)
    load, define, build = (statistics.median(v) for v in (loads, defines, builds))
    ratio = (load + define) / build
    return [name, dtype, net.network.num_layers, f"{load * 1e3:.0f}", f"{define * 1e3:.0f}", f"{build * 1e3:.0f}",
            f"{100 * ratio:.1f}%", "yes" if ratio < 0.10 else "NO"]


def main() -> None:
    trtnn.backend.get()  # import TensorRT outside the timings
    rows = [one(n, f, dt) for n, f in (("resnet50", resnet50), ("resnet101", resnet101)) for dt in ("fp32", "fp16")]
    report("definition", f"State dict -> plan ({trtnn.backend.name()} {trtnn.backend.version()})",
           ["model", "dtype", "TRT layers", "load_state_dict ms", "define ms", "builder ms", "(load+define)/builder",
            "< 10%"], rows,
           notes="load = Module.load_state_dict(state, assign=True) (as `trtnn build --weights`; the default copy, like "
                 "torch, adds ~40 ms for ResNet-50); define = trtnn.define (forward emitting layers, BN folding, weight "
                 "casts); builder = build_serialized_network. Medians of 3 runs, after a warm-up import of TensorRT.")


if __name__ == "__main__":
    main()
