"""Shared test helpers: define a network from a function, run it on the CPU executor, compare with torch."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, List, Sequence, Tuple

import torch

import trtnn
import trtnn.functional as F
import trtnn.nn as nn
from trtnn import cli
from trtnn.reference import Executor


class Tiny(trtnn.Module):
    """Conv-BN-ReLU, 3 -> 4 channels: the small network the catalogue and the soak tests build."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Fn(trtnn.Module):
    """Wrap a function of trtnn Tensors as a module."""

    def __init__(self, fn: Callable) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


class TorchNS:
    """torch.nn.functional, falling back to torch: the namespace trtnn.functional mirrors."""

    def __getattr__(self, name: str) -> Any:
        return getattr(torch.nn.functional, name, None) or getattr(torch, name)


TORCH = TorchNS()


def rel_err(got: torch.Tensor, ref: torch.Tensor) -> float:
    """max |got - ref| / max |ref| (norm-relative, so values near zero don't dominate)."""
    got, ref = got.double(), ref.double()
    if ref.numel() == 0:
        return 0.0
    return ((got - ref).abs().max() / ref.abs().max().clamp_min(1e-12)).item()


def as_list(out: Any) -> List[torch.Tensor]:
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in as_list(o)]
    return [out]


def define_and_run(model: trtnn.Module, inputs: Sequence[torch.Tensor], dtype: str = "fp32", **kw):
    specs = [trtnn.Input(f"x{i}", tuple(t.shape), t.dtype) for i, t in enumerate(inputs)]
    net = trtnn.define(model, specs, dtype=dtype, **kw)
    outs = Executor(net.network)({f"x{i}": t for i, t in enumerate(inputs)})
    return net, list(outs.values())


def check(fn: Callable, inputs: Sequence[torch.Tensor], dtype: str = "fp32", tol: float = None, build: bool = True,
          ref_fn: Callable = None):
    """fn(ns, *xs) is evaluated with ns=torch and ns=trtnn.functional; shapes, dtypes and values must agree.

    Returns (network, outputs, engine or None)."""
    ref = as_list((ref_fn or fn)(TORCH, *inputs))
    net, got = define_and_run(Fn(lambda *xs: fn(trtnn.functional, *xs)), inputs, dtype)
    assert len(got) == len(ref)
    tol = tol if tol is not None else (1e-5 if dtype == "fp32" else 1e-2)
    for g, r, info in zip(got, ref, net.outputs):
        assert tuple(info.shape) == tuple(r.shape), (info, r.shape)
        assert info.dtype == r.dtype, (info, r.dtype)
        assert g.dtype == r.dtype and tuple(g.shape) == tuple(r.shape)
        if r.dtype.is_floating_point:
            err = rel_err(g, r)
            assert err <= tol, f"relative error {err:.3g} > {tol}"
        else:
            assert torch.equal(g, r), (g, r)
    engine = trtnn.build_network(net) if build else None
    if engine is not None:
        assert engine.nbytes > 0
    return net, got, engine


KEYS_DIR = Path(__file__).parent / "data" / "keys"  # the original projects' state_dict keys and shapes


def parse_keys(name: str) -> List[Tuple[str, Tuple[int, ...]]]:
    """`keys/<name>.keys` (`name (d0, d1, ...)` lines) -> [(key, shape)] in order."""
    out = []
    for line in (KEYS_DIR / f"{name}.keys").read_text().splitlines():
        if line.strip():
            key, shape = line.strip().rsplit(" (", 1)
            out.append((key, tuple(int(d) for d in shape.rstrip(")").split(",") if d.strip())))
    return out


# tests/refmodels' classes pickled under ultralytics' module names (a whole fp16 module, as released checkpoints are),
# saved in a child process: ultralytics is not importable here.
_ULTRALYTICS_PT = """
import sys, types, torch
sys.path.insert(0, {here!r})
from refmodels import yolo, randomize_bn
for mod, names in {{"ultralytics.nn.modules.conv": ("Conv", "Concat"),
                    "ultralytics.nn.modules.block": ("C2f", "Bottleneck", "SPPF", "DFL"),
                    "ultralytics.nn.modules.head": ({head!r},), "ultralytics.nn.tasks": ("DetectionModel",)}}.items():
    for parent in ("ultralytics", "ultralytics.nn", "ultralytics.nn.modules", mod):
        sys.modules.setdefault(parent, types.ModuleType(parent))
    for n in names:
        getattr(yolo, n).__module__ = mod
        setattr(sys.modules[mod], n, getattr(yolo, n))
torch.manual_seed(0)
model = randomize_bn(yolo.{factory}, 0).half()
torch.save({{"model": model, "ema": None, "epoch": -1, "train_args": {{"imgsz": 640}}}}, {path!r})
"""


def save_ultralytics_pt(path: Any, factory: str, head: str) -> None:
    """Write an ultralytics-style .pt of `refmodels.yolo.<factory>` (e.g. 'yolov8("n", nc=3)') whose head class is
    `head` ('Detect', 'Pose'), as a real checkpoint pickles ultralytics' own classes."""
    script = _ULTRALYTICS_PT.format(here=os.path.dirname(os.path.abspath(__file__)), path=str(path), factory=factory,
                                    head=head)
    made = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr


class Random:
    """Seeded random test tensors, one stream per test file: `r = Random(seed)`, `r(2, 3)` is torch.randn(2, 3);
    `r.generator` feeds torch's other samplers (randint...) from the same stream."""

    def __init__(self, seed: int) -> None:
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, *shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=self.generator)


def run_cli(capsys: Any, *argv: Any) -> Tuple[int, str, str]:
    """`trtnn argv...` run in this process (arguments str()-ed): (exit code, stdout, stderr)."""
    code = cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err
