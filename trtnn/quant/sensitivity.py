"""INT8/FP8 by measured sensitivity: which quantizable layers to keep in the base dtype, and which calibration method
each activation tensor gets, for a stated budget on the task outputs (issue 23).

Steps, on the CPU executor, before any engine exists (NVIDIA ModelOpt's AutoQuantize does a per-layer format search
on a GPU; this is the CPU counterpart):
1. Q/DQ placement is read off the INT8/FP8 network trtnn.define makes (every quantizable layer quantized, except
   `exclude`): each *edge* is one quantized input of one layer (an activation behind a Q/DQ pair, or a weight).
2. Probe: one forward of that network with every Q/DQ as identity (fp32 values) and the fp32 weights, on a few
   calibration images, then one backward of <v, y> per probe, v random per image and output part, scaled by
   1 / ||y_part||. Task parts: boxes (as the distances of their edges from the fp32 box's center: an error
   relative to the box's size, as IoU sees it) and mask coefficients / keypoints where the fp32 score is >=
   SCORE_FLOOR, scores everywhere, mask logits (coefficients x prototypes) at the best-scoring anchors; any other
   output whole. Only the parts *at risk* are probed: those under budget + AT_RISK_MARGIN dB when everything is
   quantized (measured first; every part when none is, or without a budget), so that a part far above the budget
   does not decide what is kept. For an edge with quantization error d (fake_quant(x) - x), g . d
   is an unbiased estimate of the output error d causes, relative to the output (first order): its square summed
   over images and probes is that edge's noise-to-signal ratio. Each activation tensor takes the calibration method
   whose amax gives it the smallest such error (where several would be placed on it, as for concat groups, the
   placed amax stays).
3. Units = the quantized layers; a layer's estimated error is that of its edges together. Layers are
   kept in the base dtype, most error removed per FLOP kept first (a layer without FLOPs, e.g. an add or concat,
   costs FLOP_FLOOR of the network), until the remaining estimate meets the budget; then the network
   with that policy is *measured* (fake-quantized forward vs fp32, SQNR per task part) and more units are kept
   while a part misses the budget.
The `Policy` says what was kept and why, the share of convolution / matrix-multiply FLOPs left in INT8/FP8, and the
measured SQNR; it is saved beside the calibration cache (`<cache>.policy.json`) and reused with it.
"""
from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch

from ..compile import define
from ..compile.quantize.qdq import QMAX, quant_format
from ..errors import CheckpointError, ConfigError
from ..reference.common import read_node
from ..reference import Executor
from ..reference.executor import run_steps
from .methods import compute_amax
from .parts import HeadLayout, sqnr, sqnr_per_feed, task_parts

log = logging.getLogger("trtnn.quant")
POLICY_VERSION = 2  # a policy saved by another version of this algorithm is recomputed (2: boxes relative, at risk)
DEFAULT_BUDGET = 25.0  # dB: the least SQNR of every task output part vs fp32 (see benchmarks/results/int8_policy.md)
SENSITIVITY_IMAGES = 8  # calibration images the probe and the checks run on
_WEIGHTED = ("CONVOLUTION", "DECONVOLUTION", "MATRIX_MULTIPLY")
_QDQ = ("QUANTIZE", "DEQUANTIZE")
CANDIDATES = ("minmax", "percentile", "mse")  # per-tensor methods tried (entropy: the worst on every checkpoint)
CHOICE_IMAGES = 2  # images of the first batch the per-tensor method choice is made on
MIN_GAIN = 0.25  # another method replaces the calibration's own only when it cuts the estimated error by this
FLOP_FLOOR = 0.005  # a unit's cost when kept: its conv/matmul FLOPs, at least this share of the network's
PRUNE_TRIES = 3  # after the budget is met, the largest kept layers tried back in INT8/FP8, one measurement each
AT_RISK_MARGIN = 10.0  # dB: a part this far above the budget with everything quantized does not steer what is kept


@dataclass
class Policy:
    """The per-network INT8/FP8 choice: `exclude` (kept in the base dtype: the model's never-quantize `defaults`,
    module paths, then `kept`, layer names, most sensitive first, each with its estimated SQNR alone in `reasons`),
    `methods`
    (tensor -> [method, amax] where it differs from `method`), and what it measured: `sqnr` (dB per task output
    part, this policy) and `sqnr_all` (everything but the defaults quantized), `at_risk` (the parts whose error
    decided what was kept: those under budget + AT_RISK_MARGIN dB with everything quantized), `int8_flops` (share of
    convolution / matrix-multiply FLOPs in INT8/FP8)."""

    dtype: str
    budget: Optional[float]
    method: str
    defaults: List[str] = field(default_factory=list)
    kept: List[str] = field(default_factory=list)
    reasons: Dict[str, float] = field(default_factory=dict)
    methods: Dict[str, List[Any]] = field(default_factory=dict)
    sqnr: Dict[str, float] = field(default_factory=dict)
    sqnr_all: Dict[str, float] = field(default_factory=dict)
    at_risk: List[str] = field(default_factory=list)  # the parts under budget + AT_RISK_MARGIN, all quantized
    int8_flops: float = 1.0
    images: int = 0
    seconds: float = 0.0  # wall
    cpu_seconds: float = 0.0  # process CPU time, all threads
    key: Dict[str, Any] = field(default_factory=dict)  # what it was computed for (cache reuse)

    @property
    def exclude(self) -> List[str]:
        return list(self.defaults) + list(self.kept)

    def for_end2end(self) -> "Policy":
        """This policy of a raw model for its end-to-end wrapper (the model sits under `model.` there)."""
        def wrap(name: str) -> str:
            return " + ".join(f"model.{part}" for part in name.split(" + "))
        return Policy(**{**asdict(self), "defaults": [wrap(p) for p in self.defaults],
                         "kept": [wrap(k) for k in self.kept], "reasons": {wrap(k): v for k, v in self.reasons.items()},
                         "methods": {f"model.{t}": v for t, v in self.methods.items()}})

    def apply(self, amax: Dict[str, float]) -> Dict[str, float]:
        """`amax` with the per-tensor method choices put in."""
        return {**amax, **{t: float(v[1]) for t, v in self.methods.items() if t in amax}}

    def summary(self) -> str:
        """Lines to print: what stays in the base dtype and why, methods changed, FLOPs share, measured SQNR."""
        fmt = self.dtype.upper()
        lines = [f"{fmt} policy ({self.method} calibration" + (f", budget {self.budget:g} dB SQNR per task output"
                 if self.budget is not None else ", no sensitivity budget") + f", measured on {self.images} images"
                 f" in {self.seconds:.0f}s, CPU {self.cpu_seconds:.0f}s): {self.int8_flops:.1%} of conv/matmul "
                 f"FLOPs in {fmt}"]
        if self.defaults:
            lines.append(f"  never quantized (model defaults): {', '.join(self.defaults)}")
        for path in self.kept:
            lines.append(f"  kept in the base dtype: {path} (alone it costs the outputs {self.reasons[path]:.1f} dB)")
        if self.kept and self.at_risk:
            lines.append(f"  kept for: {', '.join(self.at_risk)} (the other parts stay above the budget "
                         f"+ {AT_RISK_MARGIN:g} dB with everything quantized)")
        if self.methods:
            changed = ", ".join(f"{t} -> {m}" for t, (m, _) in list(self.methods.items())[:6])
            lines.append(f"  method changed on {len(self.methods)} tensor(s): {changed}"
                         + (" ..." if len(self.methods) > 6 else ""))
        if self.sqnr:
            lines.append("  SQNR vs fp32: " + ", ".join(f"{k} {v:.1f} dB" for k, v in self.sqnr.items())
                         + (" (all quantized: " + ", ".join(f"{v:.1f}" for v in self.sqnr_all.values()) + ")"
                            if self.sqnr_all and self.kept else ""))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> "Policy":
        try:
            return cls(**json.loads(text))
        except (ValueError, TypeError) as e:
            raise CheckpointError(f"{source} is not a trtnn INT8 policy ({type(e).__name__}: {e}); delete it or "
                                  "recalibrate") from e


def policy_path(cache: str) -> str:
    """Where the policy of calibration cache `cache` is saved."""
    base = cache[:-5] if cache.endswith(".json") else cache
    return base + ".policy.json"


@dataclass
class WithPolicy:
    """amax per tensor with an INT8/FP8 policy, as trtnn.define's `calibration=` takes it."""

    amax: Dict[str, float]
    policy: Policy


# ---- what the quantized network quantizes ---------------------------------------------------------------------
@dataclass
class Edge:
    layer: str  # consumer layer
    index: int  # its input
    tensor: str  # activation: the tensor behind the Q/DQ pair; weight: the DQ constant
    amax: float = 0.0  # activation: the amax placed
    weight: bool = False


def fake_quant(x: torch.Tensor, amax: float, fmt: torch.dtype) -> torch.Tensor:
    """DQ(Q(x)) per tensor as TensorRT computes it (INT8: round half to even, saturate; FP8 E4M3)."""
    qmax = QMAX[fmt]
    scale = max(float(amax), 1e-30) / qmax
    y = x / scale
    y = torch.round(y).clamp(-qmax - 1, qmax) if fmt == torch.int8 else y.clamp(-qmax, qmax).to(fmt).float()
    return y * scale


def _edges(ex: Any, fmt: torch.dtype) -> List[Edge]:
    """Every quantized input of every layer of a Q/DQ network's executor plan."""
    producer = {}
    for step in ex._steps:
        for n in step[2]:
            producer[n] = step
    edges = []
    for step in ex._steps:
        if step[5] in _QDQ:
            continue
        for j, n in enumerate(step[1]):
            if n in ex._consts and n.endswith(":weight_dequantize"):
                edges.append(Edge(step[4], j, n, weight=True))
                continue
            dq = producer.get(n)
            if dq is None or dq[5] != "DEQUANTIZE":
                continue
            q = producer.get(dq[1][0])
            if q is None or q[5] != "QUANTIZE":
                continue
            scale = float(ex._consts[q[1][1]].float().reshape(-1)[0])
            edges.append(Edge(step[4], j, q[1][0], amax=scale * QMAX[fmt]))
    return edges


def _needed(ex: Any, targets: Sequence[str]) -> List[Any]:
    """The plan's steps that `targets` depend on, in order (an end-to-end wrapper's NMS is skipped)."""
    want, keep = set(targets), []
    for step in reversed(ex._steps):
        if want.intersection(step[2]):
            keep.append(step)
            want.update(n for n in step[1] if n is not None)
    return keep[::-1]


def _run(ex: Any, feeds: List[Dict[str, Any]], targets: Sequence[str]) -> Dict[str, List[torch.Tensor]]:
    """Tensors `targets` (fp32) per feed of the executor's plan, computing only what they need."""
    steps = _needed(ex, targets)
    got: Dict[str, List[torch.Tensor]] = {t: [] for t in targets}
    with torch.inference_mode():
        for feed in feeds:
            env = ex._bind(feed)
            run_steps(steps, env)
            for t in targets:
                got[t].append(env[t].float())
    return got


def _fp32_weights(net32: Any) -> Dict[str, torch.Tensor]:
    """Layer name -> fp32 kernel (after BatchNorm folding) of the fp32 network's convolutions / deconvolutions."""
    out = {}
    network = net32.network
    for i in range(network.num_layers):
        node = read_node(network.get_layer(i), i)
        if node.kind in ("CONVOLUTION", "DECONVOLUTION") and not node.has_input(1):
            out[node.name] = torch.from_numpy(np.array(node.layer.kernel, dtype=np.float32).copy())
    return out


def _flops(kind: str, args: Sequence[Any], res: Any) -> float:
    if kind == "CONVOLUTION":
        w = args[1]
        return 2.0 * res.numel() * w[0].numel()
    if kind == "DECONVOLUTION":
        w = args[1]
        return 2.0 * args[0].numel() * w[0].numel()
    a = args[0]
    return 2.0 * res.numel() * a.shape[-1] if a.dim() >= 1 else 0.0


# ---- the probe ----------------------------------------------------------------------------------------------------
def _probe(ex: Any, feeds: List[Dict[str, Any]], edges: List[Edge], weights32: Dict[str, torch.Tensor],
           targets: Sequence[str], head: Optional[HeadLayout], at_risk: Optional[Sequence[str]], probes: int,
           seed: int):
    """Float forward(s) of the Q/DQ plan with taps on every edge, backward(s) with random probes of the task parts
    named `at_risk` (None: every part). Returns (edge -> x per feed, edge -> grads per feed, FLOPs per weighted
    layer)."""
    by_layer: Dict[str, List[int]] = {}
    for k, e in enumerate(edges):
        by_layer.setdefault(e.layer, []).append(k)
    steps = _needed(ex, targets)
    gen = torch.Generator().manual_seed(seed)
    xs, grads, flops = [[] for _ in edges], [[] for _ in edges], {}
    for feed in feeds:
        env = {k: (v.clone() if isinstance(v, torch.Tensor) and v.is_inference() else v)
               for k, v in ex._bind(feed).items()}
        taps: Dict[int, torch.Tensor] = {}
        with torch.enable_grad():
            for step in steps:
                fn, ins, outs, name, kind = step[0], step[1], step[2], step[4], step[5]
                if kind in _QDQ and ins[0] not in ex._consts:  # activation Q/DQ: identity
                    env[outs[0]] = env[ins[0]]
                    continue
                args = [env[n] for n in ins]
                for k in by_layer.get(name, ()):
                    e = edges[k]
                    base = weights32.get(name, args[e.index]).reshape(args[e.index].shape) if e.weight \
                        else args[e.index].float()
                    eps = torch.zeros_like(base, requires_grad=True)
                    taps[k] = eps
                    if e.weight:
                        xs[k].append(base)
                    else:
                        xs[k].append(base.detach())
                    args[e.index] = (base + eps).to(args[e.index].dtype)
                res = fn(*args)
                if kind in _WEIGHTED and name in by_layer:
                    flops[name] = _flops(kind, args, res)
                if len(outs) == 1:
                    env[outs[0]] = res
                else:
                    env.update(zip(outs, res))
            ys = {t: env[t] for t in targets}
            ref = {t: y.detach().float() for t, y in ys.items()}
            parts = [p for p in task_parts(ref, head) if at_risk is None or p.name in at_risk]
            order = list(taps)
            for p in range(probes):
                total = 0
                for part in parts:
                    yp = part.of(ref)
                    norm = yp.reshape(yp.shape[0], -1).norm(dim=1).clamp(min=1e-12)
                    v = torch.randn(yp.shape, generator=gen) / norm.reshape([-1] + [1] * (yp.dim() - 1))
                    total = total + (part.of(ys) * v).sum()
                gs = torch.autograd.grad(total, [taps[k] for k in order], retain_graph=p + 1 < probes,
                                         allow_unused=True)
                for k, g in zip(order, gs):
                    g = torch.zeros_like(taps[k]) if g is None else g
                    if p == 0:
                        grads[k].append([g])
                    else:
                        grads[k][-1].append(g)
    return xs, grads, flops


def _dots(x: torch.Tensor, gs: List[torch.Tensor], delta: torch.Tensor, weight: bool) -> torch.Tensor:
    """[probes, images] of g . delta (weights: one value per probe, summed over the batch)."""
    if weight:
        return torch.stack([(g * delta).sum().reshape(1) for g in gs])
    return torch.stack([(g * delta).reshape(g.shape[0], -1).sum(1) for g in gs])


# ---- the policy -------------------------------------------------------------------------------------------------
def choose_policy(model: Any, inputs: Sequence[Any], feeds: List[Dict[str, Any]], amax: Dict[str, float],
                  stats: Optional[Dict[str, Any]], *, dtype: str = "int8", method: str = "minmax",
                  per_tensor: bool = True, budget: Optional[float] = DEFAULT_BUDGET, defaults: Sequence[str] = (),
                  exclude: Sequence[str] = (), targets: Optional[Sequence[str]] = None,
                  head: Optional[HeadLayout] = None, percentile: float = 99.99, probes: int = 1, seed: int = 0,
                  max_rounds: int = 4) -> Policy:
    """The INT8/FP8 policy of `model` for `inputs` (see the module docstring), measured on `feeds` (input dicts).

    amax: the calibration (tensor -> amax, by `method`); stats: its per-tensor statistics (for the other methods;
    None: no per-tensor method choice). defaults: module paths / types never quantized (the model's spec); exclude:
    more, the user's. targets: tensors whose error counts (default: the network outputs; an end-to-end wrapper's
    raw model outputs). budget: least SQNR in dB per task output part (None: measure only, keep nothing more)."""
    t0, c0 = time.perf_counter(), time.process_time()
    fmt = quant_format(dtype)
    if fmt is None:
        raise ConfigError(f"INT8/FP8 policy: dtype must be 'int8' or 'fp8', got {dtype!r}")
    if budget is not None and not (isinstance(budget, (int, float)) and 0 < budget < 200):
        raise ConfigError(f"INT8 budget must be a number of dB in (0, 200), got {budget!r}")
    fixed = list(defaults) + list(exclude)
    net32 = define(model, inputs, dtype="fp32")
    net8 = define(model, inputs, dtype=dtype, calibration=amax, exclude=fixed, base_dtype="fp32")
    ex8 = Executor(net8)
    if targets is None:
        targets = [o.name for o in net8.outputs]
    needed = {step[4] for step in _needed(ex8, targets)}
    edges = [e for e in _edges(ex8, fmt) if e.layer in needed]  # a quantized layer the targets do not read: no cost
    refs = [dict(zip(targets, outs)) for outs in zip(*_run(Executor(net32), feeds, targets).values())]

    def measure(kept: Sequence[str], methods: Dict[str, List[Any]]) -> Dict[str, float]:
        full = Policy(dtype, budget, method, defaults=[], kept=list(kept), methods=methods)
        cal = WithPolicy({**amax, **{t: v[1] for t, v in methods.items()}}, full)
        got = _run(Executor(define(model, inputs, dtype=dtype, calibration=cal, exclude=fixed, base_dtype="fp32")),
                   feeds, targets)
        if any(r[t].shape[1:] != refs[0][t].shape[1:] for r in refs for t in targets):  # dynamic input sizes
            return sqnr_per_feed(refs, got, head)
        cat_ref = {t: torch.cat([r[t] for r in refs]) for t in targets}
        return sqnr(cat_ref, {t: torch.cat(v) for t, v in got.items()}, task_parts(cat_ref, head))

    # the parts that steer what is kept: those near or under the budget with everything quantized
    plain = measure([], {})
    at_risk = None if budget is None else [p for p, v in plain.items() if v < budget + AT_RISK_MARGIN] or None
    xs, grads, flops = _probe(ex8, feeds, edges, _fp32_weights(net32), targets, head, at_risk, probes, seed)
    edges_of: Dict[str, List[int]] = {}
    for k, e in enumerate(edges):
        if not e.weight:
            edges_of.setdefault(e.tensor, []).append(k)

    # g . delta per activation edge and candidate amax (delta computed once per tensor: its edges share x)
    dots: Dict[int, Dict[str, List[torch.Tensor]]] = {}
    methods: Dict[str, List[Any]] = {}
    chosen: Dict[int, str] = {}
    for t, ks in edges_of.items():
        placed, own = edges[ks[0]].amax, amax.get(t)
        cands = {"placed": placed}
        if per_tensor and stats is not None and t in stats and own is not None and \
                all(abs(edges[k].amax - own) <= 1e-6 * max(own, 1e-12) for k in ks):
            for m in CANDIDATES:
                a = own if m == method else compute_amax(stats[t], m, percentile)
                if a > 0 and m != method:
                    cands[m] = a
        for k in ks:
            dots[k] = {}
        for f in range(len(feeds)):  # the placed amax on every image, for the unit scores
            x = xs[ks[0]][f]
            delta = fake_quant(x, placed, fmt) - x
            for k in ks:
                dots[k].setdefault("placed", []).append(_dots(x, grads[k][f], delta, False))
        errs = {"placed": float((sum(dots[k]["placed"][0][:, :CHOICE_IMAGES] for k in ks) ** 2).sum())}
        x = xs[ks[0]][0][:CHOICE_IMAGES]
        for m, a in cands.items():  # the other candidates on the first images only
            if m == "placed":
                continue
            delta = fake_quant(x, a, fmt) - x
            d = sum(_dots(x, [g[:CHOICE_IMAGES] for g in grads[k][0]], delta, False) for k in ks)
            errs[m] = float((d ** 2).sum())
        best = min(errs, key=lambda m: (errs[m], m != "placed"))
        if best != "placed" and errs[best] < errs["placed"] * (1 - MIN_GAIN):
            methods[t] = [best, cands[best]]
            for f in range(len(feeds)):
                x = xs[ks[0]][f]
                delta = fake_quant(x, cands[best], fmt) - x
                for k in ks:
                    dots[k].setdefault(best, []).append(_dots(x, grads[k][f], delta, False))
        for k in ks:
            chosen[k] = methods[t][0] if t in methods else "placed"

    # units and their estimated errors (noise-to-signal, summed over parts, per image on average)
    units: Dict[str, List[int]] = {}
    for k, e in enumerate(edges):
        units.setdefault(e.layer, []).append(k)
    n_img = sum(next(iter(r.values())).shape[0] for r in refs)
    score: Dict[str, float] = {}
    for u, ks in units.items():
        err = 0.0
        for f in range(len(feeds)):
            d_act, d_w = 0, 0
            for k in ks:
                e, x = edges[k], xs[k][f]
                if e.weight:
                    q = ex8._consts[e.tensor].float().reshape(x.shape)
                    d_w = d_w + _dots(x, grads[k][f], q - x, True)
                else:
                    d_act = d_act + dots[k][chosen[k]][f]
            err += float((torch.as_tensor(d_act) ** 2).sum() + (torch.as_tensor(d_w) ** 2).sum())
        score[u] = err / (probes * n_img)
    total_flops = sum(flops.values())
    flops_of = {u: flops.get(u, 0.0) for u in units}

    floor = FLOP_FLOOR * total_flops
    order = keep_order(score, flops_of)
    measured_all = measure([], methods) if methods else plain
    measured, kept = measured_all, []
    if budget is not None and min(measured_all.values()) < budget:
        target = 10 ** (-budget / 10)
        predicted = sum(score.values())
        ratio = 1.0
        for _ in range(max_rounds):
            measured_nsr = sum(10 ** (-v / 10) for p, v in measured.items() if at_risk is None or p in at_risk)
            rest = predicted - sum(score[u] for u in kept)
            if kept:
                ratio = max(ratio, measured_nsr / max(rest, 1e-30))
            else:
                ratio = measured_nsr / max(predicted, 1e-30)
            n = len(kept)
            while n < len(order) and ratio * (predicted - sum(score[u] for u in order[:n])) > target:
                n += 1
            n = max(n, len(kept) + 1)
            kept = order[:min(n, len(order))]
            measured = measure(kept, methods)
            if min(measured.values()) >= budget or len(kept) == len(order):
                break
        if min(measured.values()) >= budget:
            big = sorted((u for u in kept if flops_of[u] > floor), key=lambda u: -flops_of[u])
            for u in big[:PRUNE_TRIES]:
                trial = [k for k in kept if k != u]
                got = measure(trial, methods)
                if min(got.values()) >= budget:
                    kept, measured = trial, got
    flops_in = total_flops - sum(flops_of[u] for u in kept)
    return Policy(dtype=dtype, budget=budget, method=method, defaults=_paths(net8, fixed), kept=kept,
                  reasons={u: _db(score[u]) for u in kept}, methods=methods, sqnr=_rounded(measured),
                  sqnr_all=_rounded(measured_all), at_risk=list(at_risk or []),
                  int8_flops=flops_in / total_flops if total_flops else 1.0,
                  images=n_img, seconds=time.perf_counter() - t0, cpu_seconds=time.process_time() - c0)


def keep_order(score: Dict[str, float], flops: Dict[str, float]) -> List[str]:
    """Units in the order they are kept in the base dtype: most estimated error removed per FLOP kept first; a unit
    costs its FLOPs, at least FLOP_FLOOR of the total (an add or a concat is not free: it splits an INT8 region)."""
    floor = FLOP_FLOOR * sum(flops.values())
    return sorted(score, key=lambda u: -score[u] / (flops.get(u, 0.0) + floor))


def _db(nsr: float) -> float:
    return round(-10 * math.log10(nsr), 2) if nsr > 0 else math.inf


def _rounded(d: Dict[str, float]) -> Dict[str, float]:
    return {k: round(v, 2) for k, v in d.items()}


def _paths(net: Any, entries: Sequence[str]) -> List[str]:
    """The module paths `entries` (paths or module type names) stand for in `net`."""
    types = net.ctx.module_types
    out = []
    for e in entries:
        by_type = [p for p, t in types.items() if t == e]
        out += by_type if by_type else [e]
    return out


__all__ = ["DEFAULT_BUDGET", "Policy", "SENSITIVITY_IMAGES", "choose_policy", "fake_quant", "keep_order", "policy_path"]
