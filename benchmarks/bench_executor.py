"""CPU reference executor vs PyTorch eager on a ResNet-50 (ONNX -> trt.OnnxParser -> Executor).

    python benchmarks/bench_executor.py [--runs 10] [--threads N]

Prints a table and writes it to benchmarks/results/executor.md. Target: executor / eager <= 1.3.
"""
from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import time
import warnings

import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from trtnn import backend  # noqa: E402
from trtnn.reference import Executor  # noqa: E402


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, width: int, stride: int = 1):
        super().__init__()
        cout = width * self.expansion
        self.conv1, self.bn1 = nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width)
        self.conv3, self.bn3 = nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + idt)


class ResNet50(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                                  nn.MaxPool2d(3, 2, 1))
        layers, cin = [], 64
        for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            for i in range(blocks):
                layers.append(Bottleneck(cin, width, stride if i == 0 else 1))
                cin = width * Bottleneck.expansion
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


def fold_bn(model: nn.Module) -> nn.Module:
    """A copy of the model with every conv -> BatchNorm pair folded into the conv (what the ONNX export does)."""
    import copy

    model = copy.deepcopy(model)

    def fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                          conv.dilation, conv.groups, bias=True)
        fused.weight.data = conv.weight.data * scale.reshape(-1, 1, 1, 1)
        fused.bias.data = bn.bias.data - bn.running_mean * scale
        return fused

    for mod in model.modules():
        if isinstance(mod, Bottleneck):
            for i in (1, 2, 3):
                setattr(mod, f"conv{i}", fold(getattr(mod, f"conv{i}"), getattr(mod, f"bn{i}")))
                setattr(mod, f"bn{i}", nn.Identity())
            if mod.downsample is not None:
                mod.downsample = fold(mod.downsample[0], mod.downsample[1])
    model.stem = nn.Sequential(fold(model.stem[0], model.stem[1]), *list(model.stem)[2:])
    return model.eval()


def parse(model: nn.Module, x: torch.Tensor):
    trt = backend.get()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), buf, dynamo=False, opset_version=17, input_names=["x"])
    builder = trt.Builder(backend.logger())
    net = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    parser = trt.OnnxParser(net, backend.logger())
    assert parser.parse(buf.getvalue()), "OnnxParser failed"
    return net, parser, builder


def interleaved_medians(fns, runs: int, warmup: int = 2):
    """Median seconds of each function, timed in alternation so machine load hits all of them alike."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    for _ in range(runs):
        for fn, ts in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return [statistics.median(ts) for ts in times]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "executor.md"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = ResNet50().eval()
    for m in model.modules():  # non-trivial BN statistics so folding matters
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    x = torch.randn(1, 3, 224, 224)

    t0 = time.perf_counter()
    net, _parser, _builder = parse(model, x)
    t_parse = time.perf_counter() - t0
    t0 = time.perf_counter()
    ex = Executor(net)
    t_compile = time.perf_counter() - t0

    with torch.inference_mode():
        ref = model(x)
    out = next(iter(ex({"x": x}).values()))
    err = float((out - ref).abs().max() / ref.abs().max())

    folded = fold_bn(model)

    def eager(m):
        with torch.inference_mode():
            m(x)

    t_eager, t_folded, t_exec = interleaved_medians(
        [lambda: eager(model), lambda: eager(folded), lambda: ex({"x": x})], args.runs)
    ratio, ratio_folded = t_exec / t_eager, t_exec / t_folded
    rows = [
        ("model", f"ResNet-50 (random weights, eval), input 1x3x224x224, {net.num_layers} TensorRT layers"),
        ("backend", f"{backend.name()} {backend.version()} OnnxParser; torch {torch.__version__}"),
        ("machine", f"{platform.machine()}, {args.threads} torch threads, {os.cpu_count()} cores, "
                    f"load average {os.getloadavg()[0]:.1f} (timings interleave, so load hits both sides)"),
        ("export+parse", f"{t_parse * 1e3:.0f} ms"),
        ("Executor compile", f"{t_compile * 1e3:.1f} ms"),
        ("torch eager (median)", f"{t_eager * 1e3:.1f} ms"),
        ("torch eager, BatchNorm folded into conv (median)", f"{t_folded * 1e3:.1f} ms"),
        ("Executor (median)", f"{t_exec * 1e3:.1f} ms"),
        ("ratio executor/eager", f"{ratio:.2f} (target <= 1.3)"),
        ("ratio executor/eager with BN folded (same arithmetic)", f"{ratio_folded:.2f}"),
        ("max rel. error vs eager", f"{err:.2e}"),
        ("runs", f"{args.runs} interleaved pairs after 2 warm-up"),
    ]
    table = "| what | value |\n| --- | --- |\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)
    print(table)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("# CPU reference executor vs PyTorch eager\n\n"
                "Produced by `python benchmarks/bench_executor.py`.\n\n" + table + "\n")


if __name__ == "__main__":
    main()
