"""CPU executor vs PyTorch eager on the shipped models (issue: executor speed target <= 1.3x eager).

The trtnn network (BN folded, as built) runs in trtnn.reference.Executor; the faithful PyTorch reference model
(tests/refmodels, same weights) runs eagerly. Median of interleaved runs after warm-up.
Run: python benchmarks/bench_executor_models.py [--repeat 7]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "tests")]
import torch  # noqa: E402

import trtnn  # noqa: E402
import trtnn.models  # noqa: E402
from common import report  # noqa: E402
from refmodels import centernet_dla34_dcn, centernet_resnet, randomize_bn, unet, yolov5, yolov8  # noqa: E402
from trtnn.reference import Executor  # noqa: E402

CASES = [
    ("yolov8n", lambda: yolov8("n"), (1, 3, 640, 640)),
    ("yolov8s", lambda: yolov8("s"), (1, 3, 640, 640)),
    ("yolov5s", lambda: yolov5("s"), (1, 3, 640, 640)),
    ("unet", lambda: unet(3, 2, False), (1, 3, 320, 320)),
    ("centernet_res18", lambda: centernet_resnet(18), (1, 3, 512, 512)),
    ("centernet_dla34", centernet_dla34_dcn, (1, 3, 512, 512)),  # DCNv2: grid sample + 1x1 conv vs gather-based
]


def one(name: str, make_ref, shape, repeat: int):
    ref = make_ref().eval()
    randomize_bn(ref, 0)
    mine = trtnn.models.get(name)()
    mine.load_state_dict(ref.state_dict())
    net = trtnn.define(mine, [trtnn.Input("x", shape)])
    ex = Executor(net.network)
    x = torch.rand(shape)
    with torch.inference_mode():
        want = ref(x)
        want = want[0] if isinstance(want, (tuple, list)) else want
        got = ex({"x": x})
        got = got["hm"] if isinstance(want, dict) else next(iter(got.values()))  # CenterNet: compare the heatmap
        want = want["hm"] if isinstance(want, dict) else want
        err = ((got - want).abs().max() / want.abs().max()).item()
        t_ref, t_ex = [], []
        for _ in range(2):
            ref(x), ex({"x": x})
        for _ in range(repeat):  # interleaved so machine load hits both alike
            t0 = time.perf_counter()
            ref(x)
            t_ref.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            ex({"x": x})
            t_ex.append(time.perf_counter() - t0)
    e, r = statistics.median(t_ex), statistics.median(t_ref)
    return [name, "x".join(map(str, shape)), net.network.num_layers, f"{r * 1e3:.0f}", f"{e * 1e3:.0f}",
            f"{e / r:.2f}", "yes" if e / r <= 1.3 else "NO", f"{err:.1e}"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    torch.manual_seed(0)
    rows = [one(n, f, s, args.repeat) for n, f, s in CASES]
    load = os.getloadavg()[0]
    report("executor_models", "CPU executor vs PyTorch eager on the shipped models",
           ["model", "input", "TRT layers", "eager ms", "executor ms", "ratio", "<= 1.3", "max rel err"], rows,
           notes=f"torch {torch.__version__}, {torch.get_num_threads()} threads; load average {load:.1f} at the end. "
                 "Eager = tests/refmodels (unfused BatchNorm, as the original code runs; CenterNet DLA-34's DCNv2 is "
                 "the pure-torch gather reference there, the original uses a CUDA extension).")


if __name__ == "__main__":
    main()
