"""trtnn as a builder service: many define+build cycles in one process (RSS, open descriptors, temp files, time per
cycle), several threads defining and building different networks at once (the same layer tables, I/O and errors as
one after the other), and builds cancelled from another thread (how fast they stop; nothing left behind).

Run: python benchmarks/soak.py [--cycles 200] [--warmup 20] [--threads 4]      -> benchmarks/results/soak.md
     --quick (small networks only) and --json FILE (the figures) are what tests/test_edges.py runs.
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Dict, List, Tuple

import torch

import trtnn
import trtnn.functional as F
import trtnn.nn as nn
from trtnn.errors import BuildCancelled, TrtnnError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import report  # noqa: E402 - the benchmarks folder is put on the path just above


class ConvBlock(trtnn.Module):
    def __init__(self, cin: int = 3, cout: int = 8) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class MLP(trtnn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(16, 32), nn.Linear(32, 4)

    def forward(self, x):
        return F.softmax(self.fc2(F.gelu(self.fc1(x))), -1)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def files_under(folder: str) -> List[str]:
    return sorted(os.path.relpath(os.path.join(d, f), folder) for d, _, fs in os.walk(folder) for f in fs)


# ---- one network: its layer table, I/O and plan, or its error ---------------------------------------------------
Job = Tuple[str, Callable[[], trtnn.Module], List[trtnn.Input]]


def jobs(quick: bool) -> List[Job]:
    """Different networks (and one that fails to define), each model made from a fixed seed."""
    def seeded(make: Callable[[], trtnn.Module], seed: int) -> Callable[[], trtnn.Module]:
        torch.manual_seed(seed)
        state = make().state_dict()  # trtnn layers start from torch's RNG: fix the weights once, here

        def model() -> trtnn.Module:
            m = make()
            m.load_state_dict(state)
            return m
        return model

    dyn = trtnn.Input("x", (-1, 3, 16, 16), min_shape=(1, 3, 16, 16), opt_shape=(2, 3, 16, 16),
                      max_shape=(4, 3, 16, 16))
    out: List[Job] = [
        ("conv-bn-relu 1x3x16x16", seeded(ConvBlock, 0), [trtnn.Input("x", (1, 3, 16, 16))]),
        ("mlp 2x16 (gelu, softmax)", seeded(MLP, 1), [trtnn.Input("x", (2, 16))]),
        ("conv-bn-relu, dynamic batch 1..4", seeded(lambda: ConvBlock(3, 4), 2), [dyn]),
        ("wrong channels (ShapeError)", seeded(lambda: ConvBlock(5, 4), 3), [trtnn.Input("x", (1, 3, 16, 16))]),
    ]
    if not quick:
        out.append(("yolov8n nc=2 1x3x64x64", seeded(lambda: trtnn.models.yolov8("n", nc=2), 4),
                    [trtnn.Input("images", (1, 3, 64, 64))]))
    return out


def run_job(job: Job) -> Dict[str, Any]:
    name, make, inputs = job
    try:
        net = trtnn.define(make(), inputs)
        layers = []
        for i in range(net.network.num_layers):
            layer = net.network.get_layer(i)
            layers.append([layer.name, str(layer.type).split(".")[-1],
                           [list(layer.get_output(k).shape) for k in range(layer.num_outputs)]])
        engine = trtnn.build_network(net)
    except TrtnnError as e:
        return {"job": name, "error": f"{type(e).__name__}: {e}"}
    return {"job": name, "layers": layers, "inputs": [repr(i) for i in engine.inputs],
            "outputs": [repr(o) for o in engine.outputs], "plan_sha256": hashlib.sha256(engine.plan).hexdigest()}


# ---- the three measurements ------------------------------------------------------------------------------------------
def soak(cycles: int, warmup: int, tmp: str) -> Dict[str, Any]:
    """`cycles` define+build cycles of a small network; RSS and descriptors after warm-up and at the end."""
    inputs = [trtnn.Input("x", (1, 3, 16, 16))]
    times, rss, fds = [], [], []
    for i in range(cycles):
        t0 = time.perf_counter()
        trtnn.build(ConvBlock(), inputs)
        times.append(time.perf_counter() - t0)
        rss.append(rss_mb())
        fds.append(open_fds())
    base = rss[warmup - 1]
    return {"cycles": cycles, "warmup": warmup, "rss_first_mb": rss[0], "rss_after_warmup_mb": base,
            "rss_end_mb": rss[-1], "rss_max_mb": max(rss), "rss_growth_pct": 100 * (rss[-1] - base) / base,
            "fds_after_warmup": fds[warmup - 1], "fds_end": fds[-1],
            "seconds_per_cycle_median": statistics.median(times[warmup:]),
            "seconds_per_cycle_p95": sorted(times[warmup:])[int(0.95 * (cycles - warmup)) - 1] if cycles > warmup
            else None, "temp_files_left": files_under(tmp)}


def concurrency(threads: int, quick: bool) -> Dict[str, Any]:
    """Every job one after the other (twice), then all of them spread over `threads` threads started together."""
    todo = jobs(quick)
    sequential = [run_job(j) for j in todo]
    again = [run_job(j) for j in todo]
    results: List[Any] = [None] * len(todo)
    barrier = threading.Barrier(min(threads, len(todo)))

    def worker(indices: List[int]) -> None:
        barrier.wait()
        for i in indices:
            results[i] = run_job(todo[i])

    pool = [threading.Thread(target=worker, args=(list(range(k, len(todo), threads)),))
            for k in range(min(threads, len(todo)))]
    t0 = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    seconds = time.perf_counter() - t0
    rows = []
    for s, a, c in zip(sequential, again, results):
        same = {k: s.get(k) == c.get(k) for k in ("layers", "inputs", "outputs", "error")}
        rows.append({"job": s["job"], "error": s.get("error"), "same_as_sequential": all(same.values()),
                     "differs_in": [k for k, v in same.items() if not v],
                     "plan_bytes_same_sequential_twice": s.get("plan_sha256") == a.get("plan_sha256"),
                     "plan_bytes_same_threaded": s.get("plan_sha256") == c.get("plan_sha256")})
    return {"threads": threads, "jobs": rows, "threaded_seconds": seconds}


def cancelled(fractions: List[float], tmp: str, quick: bool) -> List[Dict[str, Any]]:
    """A build cancelled from another thread after `fraction` of the time a whole build took here (-1: before it
    started): how long it took to stop, and that the next build in the same process works."""
    size = 160 if quick else 640
    model = trtnn.models.yolov8("n", nc=2)
    inputs = [trtnn.Input("images", (1, 3, size, size))]
    trtnn.build(model, inputs)  # the first build of a model costs more: time the second one
    t0 = time.perf_counter()
    trtnn.build(model, inputs)
    whole = time.perf_counter() - t0
    delays = [f * whole if f >= 0 else -1.0 for f in fractions]
    rows = []
    for delay in delays:
        fds0 = open_fds()
        event, outcome = threading.Event(), {}

        def work() -> None:
            try:
                trtnn.build(model, inputs, cancel=event)
                outcome["result"] = "built before the cancel"
            except BuildCancelled as e:
                outcome["result"] = "BuildCancelled"
                outcome["message"] = str(e)
            outcome["done"] = time.perf_counter()

        if delay < 0:
            event.set()
        thread = threading.Thread(target=work)
        start = time.perf_counter()
        thread.start()
        time.sleep(max(delay, 0))
        set_at = time.perf_counter() if delay >= 0 else start
        event.set()
        thread.join()
        gc.collect()
        after = trtnn.build(ConvBlock(), [trtnn.Input("x", (1, 3, 16, 16))])  # the process still builds
        rows.append({"cancel_after_s": delay, "whole_build_s": whole, "result": outcome["result"],
                     "message": outcome.get("message", ""),
                     "stopped_after_cancel_s": outcome["done"] - set_at,
                     "fds_before": fds0, "fds_after": open_fds(), "temp_files_left": files_under(tmp),
                     "next_build_ok": after.nbytes > 0})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cycles", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--cancel-at", type=float, action="append",
                   help="fraction of a whole build's time (repeatable; -1 = before it starts; default -1, 0.2, 0.5)")
    p.add_argument("--quick", action="store_true", help="small networks only (the test's version)")
    p.add_argument("--json", help="write the figures to this file instead of benchmarks/results/soak.md")
    args = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="trtnn-soak-")  # TensorRT's and Python's temp files land here, to be counted
    os.environ["TMPDIR"] = tempfile.tempdir = tmp
    figures = {"soak": soak(args.cycles, args.warmup, tmp),
               "concurrency": concurrency(args.threads, args.quick),
               "cancel": cancelled(args.cancel_at or [-1.0, 0.2, 0.5], tmp, args.quick)}
    os.rmdir(tmp) if not os.listdir(tmp) else None
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1)
        return
    write_report(figures)


def write_report(fig: Dict[str, Any]) -> None:
    s, c = fig["soak"], fig["concurrency"]
    rows = [["define+build cycles", s["cycles"], f"warm-up {s['warmup']}"],
            ["RSS first / after warm-up / end / max (MB)",
             f"{s['rss_first_mb']:.1f} / {s['rss_after_warmup_mb']:.1f} / {s['rss_end_mb']:.1f} / "
             f"{s['rss_max_mb']:.1f}",
             f"growth after warm-up {s['rss_growth_pct']:+.2f}% (target < 5%)"],
            ["open descriptors after warm-up / end", f"{s['fds_after_warmup']} / {s['fds_end']}", ""],
            ["temp files left", len(s["temp_files_left"]), ", ".join(s["temp_files_left"][:5])],
            ["seconds per cycle, median / p95", f"{s['seconds_per_cycle_median']:.3f} / "
                                                f"{s['seconds_per_cycle_p95']:.3f}", "ConvBlock 1x3x16x16"]]
    for j in c["jobs"]:
        verdict = "same as sequential" if j["same_as_sequential"] else f"DIFFERS in {j['differs_in']}"
        plan = (f"plan bytes: sequential twice {'same' if j['plan_bytes_same_sequential_twice'] else 'differ'}, "
                f"threaded {'same' if j['plan_bytes_same_threaded'] else 'differ'}") if not j["error"] else \
            "error: " + j["error"].splitlines()[0][:80]
        rows.append([f"{c['threads']} threads: {j['job']}", verdict, plan])
    for r in fig["cancel"]:
        when = "before start" if r["cancel_after_s"] < 0 else \
            f"{r['cancel_after_s']:.1f}s into a {r['whole_build_s']:.1f}s build"
        rows.append([f"cancel {when}", r["result"], f"stopped {r['stopped_after_cancel_s']:.3f}s after the event; "
                     f"fds {r['fds_before']}->{r['fds_after']}; temp files {len(r['temp_files_left'])}; next build "
                     f"{'ok' if r['next_build_ok'] else 'FAILED'}"])
    report("soak", "Builder service: soak, threads, cancellation", ["measure", "value", "notes"], rows,
           notes="Run: python benchmarks/soak.py (cancel: yolov8n 640x640 built with cancel=threading.Event()). "
                 "Layer tables = each layer's name, type and output shapes from the defined network; I/O = the "
                 "engine's inputs and outputs; errors compared as type + message.")


if __name__ == "__main__":
    main()
