"""Dynamic shapes: what a dynamic batch and height/width cost against static networks, for YOLOv8n (raw and end to
end) and UNet: definition and TensorRT-RTX build time, engine size, and the CPU executor's time at the same shape
(the dynamic network computes its sizes, anchors and padding in the engine).

Run: python benchmarks/bench_dynamic.py [--imgsz 320] [--runs 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import torch  # noqa: E402

import trtnn  # noqa: E402
from common import report  # noqa: E402
from trtnn.models.vision import Preprocess  # noqa: E402
from trtnn.models.yolo.tasks import End2End  # noqa: E402
from trtnn.reference import Executor  # noqa: E402


def _timed(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _case(name: str, model, static_inputs, dynamic_inputs, feed, runs: int):
    rows = []
    outs = {}
    for kind, inputs in (("static", static_inputs), ("dynamic", dynamic_inputs)):
        net = trtnn.define(model, inputs)
        ex = Executor(net)
        ex(feed)  # warm-up
        run_s = _timed(lambda: ex(feed), runs)
        outs[kind] = ex(feed)
        layers = net.network.num_layers
        engine = trtnn.build_network(net)
        shape = " ".join("x".join(map(str, i.shape)) for i in net.inputs)
        rows.append([name, kind, shape, layers, f"{net.define_seconds:.2f}", f"{engine.build_seconds:.1f}",
                     f"{engine.nbytes / 1e6:.1f}", f"{run_s:.3f}"])
    same = all(torch.equal(outs["static"][k], outs["dynamic"][k]) for k in outs["static"])
    rows[-1].append("identical" if same else "differ")
    rows[0].append("")
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--imgsz", type=int, default=320, help="image size (yolo: multiple of 32; default 320)")
    p.add_argument("--runs", type=int, default=3, help="executor runs per network (median)")
    args = p.parse_args()
    s, g = args.imgsz, torch.Generator().manual_seed(0)
    rows = []
    yolo = trtnn.models.get("yolov8n")()
    dyn = trtnn.Input("images", (-1, 3, -1, -1), min_shape=(1, 3, 32, 32), opt_shape=(1, 3, s, s),
                      max_shape=(4, 3, s, s))
    x = torch.rand(1, 3, s, s, generator=g)
    rows += _case("yolov8n raw", yolo, [trtnn.Input("images", (1, 3, s, s))], [dyn], {"images": x}, args.runs)
    e2e = End2End(yolo, preprocess=Preprocess(), scale_to_orig=True)
    images = (torch.rand(1, s, s, 3, generator=g) * 255).to(torch.uint8)
    feed = {"images": images, "orig_size": torch.tensor([[480, 640]], dtype=torch.int32)}
    rows += _case("yolov8n end2end", e2e, e2e.inputs((s, s)), e2e.inputs((s, s), max_batch=4, min_imgsz=(32, 32)),
                  feed, args.runs)
    unet = trtnn.models.get("unet")(n_channels=3, n_classes=2)
    u = s - 3  # odd: the pad-to-match path
    udyn = trtnn.Input("x", (-1, 3, -1, -1), min_shape=(1, 3, 16, 16), opt_shape=(1, 3, u, u),
                       max_shape=(2, 3, s, s))
    rows += _case("unet", unet, [trtnn.Input("x", (1, 3, u, u))], [udyn],
                  {"x": torch.rand(1, 3, u, u, generator=g)}, args.runs)
    report("dynamic", f"Dynamic vs static networks (imgsz {s}; executor at the static shape)",
           ["network", "shapes", "inputs", "layers", "define s", "build s", "engine MB", "executor s", "outputs"],
           rows, notes="Dynamic: batch 1..4 (unet 1..2) and height/width from 32 (unet 16) to imgsz, one optimization "
                       "profile (opt = the static shape). `outputs`: the dynamic network's executor outputs against "
                       "the static one's at that shape. Build: TensorRT-RTX on the CPU (no GPU timing). Reproduce: "
                       "`python benchmarks/bench_dynamic.py --imgsz 320 --runs 3`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
