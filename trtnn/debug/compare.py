"""Compare every module's output with PyTorch on the CPU executor, and mark module outputs for GPU debugging.

    report = trtnn.debug.compare(trt_model, torch_model, x)   # CPU executor vs torch forward hooks
    report.first_failure.path                                 # first module over tolerance, in execution order
    trtnn.debug.mark_debug(net, ["backbone.layer2"])          # per-tensor debug state on the GPU
"""
from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .. import dtypes
from ..compile import Input, Network, define
from ..errors import InputError, TrtnnError, UnsupportedError
from ..reference import Executor
from .measure import max_errors

DEFAULT_RTOL = {torch.float32: 1e-4, torch.float16: 1e-2, torch.bfloat16: 1e-2}
DEFAULT_ATOL = {torch.float32: 1e-6, torch.float16: 1e-3, torch.bfloat16: 1e-3}
ROOT = "<output>"  # the row of the model's own outputs (module path "")
Inputs = Union[torch.Tensor, np.ndarray, Sequence[Any], Mapping[str, Any]]


# ---- GPU debug tensors ------------------------------------------------------------------------------------------
def module_paths(net: Network) -> Dict[str, List[str]]:
    """Module path (one entry per call: `path`, `path#1`...) -> names of its output tensors in the network.
    A convolution whose BatchNorm was folded into it has no tensor of its own: it maps to []. So do outputs that
    `trtnn.define` renamed to network output names (`trtnn.debug.define` keeps track of those)."""
    folded = net.folded
    return {p: ([] if p in folded else list(names)) for p, names in net.module_outputs.items()}


def mark_debug(net: Network, paths: Sequence[str]) -> List[str]:
    """Mark the output tensors of module `paths` as TensorRT debug tensors (toggled at run time with
    `IExecutionContext.set_tensor_debug_state`, read with a debug listener). Returns the marked tensor names."""
    network = net.network
    if not hasattr(network, "mark_debug"):
        raise UnsupportedError(f"{type(network).__module__} has no INetworkDefinition.mark_debug; "
                               "use define(..., debug_outputs=paths) to make them network outputs instead")
    tensors, folded, marked = {}, net.folded, []
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        tensors.update((t.name, t) for t in (layer.get_output(j) for j in range(layer.num_outputs)))
    for path in paths:
        if path in folded:
            raise TrtnnError(f"'{path}' was folded into BatchNorm '{folded[path]}' and has no output of its own; "
                             f"mark '{folded[path]}' or define with fold_bn=False")
        if path not in net.module_outputs:
            raise TrtnnError(f"'{path}' is not a module path of this network; see trtnn.debug.module_paths(net)")
        for name in net.module_outputs[path]:
            if name not in tensors:
                raise TrtnnError(f"module '{path}': tensor '{name}' is not a layer output of the network "
                                 "(a network input, or renamed to a network output: define with trtnn.debug.define)")
            if not network.mark_debug(tensors[name]):
                raise UnsupportedError(f"TensorRT refused to mark tensor '{name}' of '{path}' as a debug tensor")
            marked.append(name)
    return marked


# ---- the report -------------------------------------------------------------------------------------------------
@dataclass
class Row:
    """One module call: status PASS | FAIL | SHAPE | MISSING | FOLDED (FOLDED and MISSING are not failures)."""

    path: str
    status: str
    trt_shapes: List[Tuple[int, ...]] = field(default_factory=list)
    torch_shapes: List[Tuple[int, ...]] = field(default_factory=list)
    max_abs: Optional[float] = None
    max_rel: Optional[float] = None  # max|a - b| / max|b|
    note: str = ""

    @property
    def failed(self) -> bool:
        return self.status in ("FAIL", "SHAPE")


@dataclass
class CompareReport:
    rows: List[Row]
    dtype: str
    rtol: float
    atol: float

    @property
    def first_failure(self) -> Optional[Row]:
        return next((r for r in self.rows if r.failed), None)

    @property
    def passed(self) -> bool:
        return self.first_failure is None

    def row(self, path: str) -> Row:
        return next(r for r in self.rows if r.path == path)

    def counts(self) -> Dict[str, int]:
        out = {s: 0 for s in ("PASS", "FAIL", "SHAPE", "MISSING", "FOLDED")}
        for r in self.rows:
            out[r.status] += 1
        return out

    def to_dict(self) -> Dict[str, Any]:
        first = self.first_failure
        rows = [{**asdict(r), "trt_shapes": [list(s) for s in r.trt_shapes],
                 "torch_shapes": [list(s) for s in r.torch_shapes]} for r in self.rows]
        for r in rows:  # JSON has no inf/nan
            for k in ("max_abs", "max_rel"):
                if r[k] is not None and not math.isfinite(r[k]):
                    r[k] = str(r[k])
        return {"passed": self.passed, "first_failure": first.path if first else None, "dtype": self.dtype,
                "rtol": self.rtol, "atol": self.atol, "counts": self.counts(), "rows": rows}

    def summary(self) -> str:
        c, first = self.counts(), self.first_failure
        text = (f"{'PASS' if self.passed else 'FAIL'}: {c['PASS']} passed, {c['FAIL']} failed, {c['SHAPE']} shape "
                f"mismatches, {c['FOLDED']} folded, {c['MISSING']} missing ({self.dtype}, rtol {self.rtol:g}, "
                f"atol {self.atol:g})")
        return text + (f"; first failure: {first.path}" if first else "")

    def format(self, color: bool = False) -> str:
        """The table in execution order; the first failing module is marked `>>` (and bold with color=True)."""
        shape = lambda ss: ", ".join("x".join(map(str, s)) or "scalar" for s in ss)  # noqa: E731
        num = lambda v: "" if v is None else f"{v:.3g}"  # noqa: E731
        table = [("", "module", "status", "trt shape", "torch shape", "max abs", "max rel", "note")]
        first = self.first_failure
        for r in self.rows:
            table.append((">>" if r is first else "", r.path, r.status, shape(r.trt_shapes), shape(r.torch_shapes),
                          num(r.max_abs), num(r.max_rel), r.note))
        widths = [max(len(t[i]) for t in table) for i in range(7)]
        lines = []
        for k, t in enumerate(table):
            line = "  ".join(v.ljust(w) for v, w in zip(t, widths)) + ("  " + t[7] if t[7] else "")
            bold = color and k > 0 and self.rows[k - 1] is first
            lines.append(f"\033[1m{line.rstrip()}\033[0m" if bold else line.rstrip())
        return "\n".join(lines + [self.summary()])

    def __str__(self) -> str:
        return self.format()


# ---- compare ----------------------------------------------------------------------------------------------------
def _torch_flat(out: Any) -> List[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _torch_flat(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in _torch_flat(o)]
    return []


def _named_inputs(inputs: Inputs) -> Dict[str, torch.Tensor]:
    as_t = lambda v: torch.from_numpy(np.ascontiguousarray(v)) if isinstance(v, np.ndarray) else v  # noqa: E731
    if isinstance(inputs, Mapping):
        named = {k: as_t(v) for k, v in inputs.items()}
    elif isinstance(inputs, (torch.Tensor, np.ndarray)):
        named = {"x": as_t(inputs)}
    else:
        named = {f"x{i}": as_t(v) for i, v in enumerate(inputs)}
    for k, v in named.items():
        if not isinstance(v, torch.Tensor):
            raise InputError(f"input '{k}': expected a torch tensor or numpy array, got {type(v).__name__}")
    return named


def _run_torch(model: Any, args: List[torch.Tensor]) -> Tuple[Dict[str, List[torch.Tensor]], List[str]]:
    """Every module call's outputs (cloned: later in-place ops must not change them), keyed like trtnn names them."""
    record: Dict[str, List[torch.Tensor]] = {}
    order: List[str] = []
    calls: Dict[str, int] = {}

    def hook(path: str):
        def fn(_mod: Any, _inp: Any, out: Any) -> None:
            n = calls.get(path, 0)
            calls[path] = n + 1
            key = (path if n == 0 else f"{path}#{n}") if path else ROOT
            record[key] = [t.detach().clone() for t in _torch_flat(out)]
            order.append(key)
        return fn

    handles = [m.register_forward_hook(hook(p)) for p, m in model.named_modules()]
    try:
        model.eval()
        with torch.inference_mode():
            model(*[a.clone() for a in args])
    finally:
        for h in handles:
            h.remove()
    return record, order


def _merge(first: List[str], second: List[str]) -> List[str]:
    """`first`, with the paths only in `second` inserted after their predecessor in `second`."""
    out, seen = list(first), set(first)
    for i, p in enumerate(second):
        if p not in seen:
            prev = next((q for q in reversed(second[:i]) if q in seen), None)
            out.insert(out.index(prev) + 1 if prev is not None else 0, p)
            seen.add(p)
    return out


def compare(trt_model: Any, torch_model: Any, inputs: Inputs, *, dtype: Any = "fp32", rtol: Optional[float] = None,
            atol: Optional[float] = None, fold_bn: bool = True, print_report: bool = True) -> CompareReport:
    """Run `trt_model`'s network on the CPU executor and `torch_model` (in eval mode, as the reference) with forward
    hooks, and compare each module call's outputs by module path.

    inputs: a tensor/array (named "x"), a sequence (x0, x1...) or a dict name -> tensor, in forward's order.
    A module passes when max|a-b| <= atol + rtol * max|b| (defaults: fp32 rtol 1e-4, fp16/bf16 1e-2).
    """
    compute = dtypes.to_torch(dtype)
    rtol = DEFAULT_RTOL.get(compute, 1e-2) if rtol is None else rtol
    atol = DEFAULT_ATOL.get(compute, 1e-3) if atol is None else atol
    named = _named_inputs(inputs)
    net = define(trt_model, [Input(k, tuple(v.shape), v.dtype) for k, v in named.items()], dtype=compute,
                 fold_bn=fold_bn)
    trt_outs = {**net.module_outputs, ROOT: [o.name for o in net.outputs]}
    wanted = {n for names in trt_outs.values() for n in names}
    env = dict(named)
    Executor(net)(named, observe=lambda name, value: env.__setitem__(name, value) if name in wanted else None)
    ref, order = _run_torch(torch_model, list(named.values()))
    folded = net.folded
    absorbed = {bn: conv for conv, bn in folded.items()}
    rows = []
    for path in _merge(order, list(trt_outs)):
        if path in folded:
            rows.append(Row(path, "FOLDED", note=f"folded into {folded[path]}"))
            continue
        names = trt_outs.get(path)
        if path not in ref:
            if names:
                rows.append(Row(path, "MISSING", note="not called in the torch model"))
            continue
        want = ref[path]
        if names is None:
            rows.append(Row(path, "MISSING", torch_shapes=[tuple(t.shape) for t in want],
                            note="no such module call in the trtnn model"))
            continue
        lost = [n for n in names if n not in env]
        if lost:
            conv = next((n for n in lost if n in folded), None)
            rows.append(Row(path, "FOLDED" if conv else "MISSING", torch_shapes=[tuple(t.shape) for t in want],
                            note=f"folded into {folded[conv]}" if conv else f"tensor(s) {lost} not in the network"))
            continue
        got = [env[n] for n in names]
        row = Row(path, "PASS", [tuple(t.shape) for t in got], [tuple(t.shape) for t in want])
        if path in absorbed:
            row.note = f"includes folded {absorbed[path]}"
        if len(got) != len(want) or row.trt_shapes != row.torch_shapes:
            row.status = "SHAPE"
            if len(got) != len(want):
                row.note = f"{len(got)} outputs vs {len(want)} in torch"
        else:
            errs = [max_errors(a, b) for a, b in zip(got, want)]
            row.max_abs, row.max_rel = max((e[0] for e in errs), default=0.0), max((e[1] for e in errs), default=0.0)
            if any(not e[0] <= atol + rtol * e[2] for e in errs):
                row.status = "FAIL"
        rows.append(row)
    report = CompareReport(rows, dtypes.short(compute), rtol, atol)
    if print_report:
        print(report.format(color=sys.stdout.isatty()))
    return report
