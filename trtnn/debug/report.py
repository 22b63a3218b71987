"""Precision report: how much each module loses in fp16 / bf16 / INT8 / FP8 against fp32, on real inputs.

    report = trtnn.debug.precision_report(model, [trtnn.Input("x", (1, 3, 64, 64))], data, dtype="fp16")
    report.worst(5)                        # the modules with the lowest SQNR
    report.overflows                       # modules with values beyond the reduced dtype's range
    auto = trtnn.debug.precision_report(model, inputs, data, dtype="int8", target_sqnr=30)
    auto.keep_fp32                         # pass to trtnn.build(..., keep_fp32=auto.keep_fp32)

Both networks run on the CPU executor over the same batches; every module output (Network.module_outputs) of the
reduced network is compared with the fp32 one. The automatic searches: trtnn.debug.bisect (default)
and trtnn.debug.greedy (greedy).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from .. import dtypes
from ..compile import Input, Network, define
from ..errors import ConfigError
from ..compile.quantize.qdq import quant_format
from ..compile.quantize.selection import module_path, under

DTYPES = ("fp16", "bf16", "int8", "fp8")
STRATEGIES = ("bisect", "greedy")  # of the automatic mode
Outputs = List[Dict[str, torch.Tensor]]  # network outputs per batch
Metric = Callable[[Outputs, Outputs], float]  # (fp32 outputs, reduced outputs) -> score, higher is better


# ---- numbers ----------------------------------------------------------------------------------------------------
def sqnr_db(signal: float, noise: float) -> float:
    """10 log10(signal power / error power): inf when there is no error, -inf when there is error but no signal."""
    if noise == 0:
        return math.inf
    if math.isinf(noise) or signal == 0:
        return -math.inf
    return 10.0 * math.log10(signal / noise)


def limits(dtype: torch.dtype) -> Optional[Tuple[float, float]]:
    """(largest finite value, smallest subnormal) of a reduced floating dtype; None for fp32 and wider."""
    if dtype not in (torch.float16, torch.bfloat16):
        return None
    info = torch.finfo(dtype)
    return float(info.max), float(info.tiny) * float(info.eps)


@dataclass
class _Tally:
    """Error of one module, accumulated over batches (float64 sums)."""

    signal: float = 0.0
    noise: float = 0.0
    max_err: float = 0.0
    max_ref: float = 0.0
    count: int = 0
    overflow: int = 0
    underflow: int = 0
    dtype: Optional[torch.dtype] = None
    shapes: List[Tuple[int, ...]] = field(default_factory=list)

    def add(self, ref: torch.Tensor, got: torch.Tensor, first: bool) -> None:
        """Compare one output tensor: `ref` from the fp32 run, `got` from the reduced run (same shape); `first`:
        of the first batch (its shape is recorded)."""
        a = ref.double().reshape(-1)
        diff = got.double().reshape(-1) - a
        signal, noise = float(torch.dot(a, a)), float(torch.dot(diff, diff))
        max_err = float(torch.linalg.vector_norm(diff, math.inf)) if diff.numel() else 0.0
        max_ref = float(torch.linalg.vector_norm(a, math.inf)) if a.numel() else 0.0
        if not all(map(math.isfinite, (signal, noise, max_err, max_ref))):  # infinities or NaNs: element by element
            signal, noise, max_err, max_ref = _nonfinite_errors(a, got.double().reshape(-1))
        self.signal += signal
        self.noise += noise
        self.max_err, self.max_ref = max(self.max_err, max_err), max(self.max_ref, max_ref)
        self.count += a.numel()
        bounds = limits(got.dtype)
        if bounds is not None:
            big, tiny = bounds
            mag = ref.abs()
            if max_ref > big:
                self.overflow += int(torch.count_nonzero(torch.isfinite(mag) & (mag > big)))
            self.underflow += int(torch.count_nonzero(mag < tiny)) - int(torch.count_nonzero(mag == 0))
        self.dtype = got.dtype
        if first:
            self.shapes.append(tuple(got.shape))

    @staticmethod
    def merged(parts: List["_Tally"]) -> "_Tally":
        """One module's tally from those of its output tensors."""
        out = _Tally()
        for t in parts:
            out.signal, out.noise, out.count = out.signal + t.signal, out.noise + t.noise, out.count + t.count
            out.max_err, out.max_ref = max(out.max_err, t.max_err), max(out.max_ref, t.max_ref)
            out.overflow, out.underflow = out.overflow + t.overflow, out.underflow + t.underflow
            out.dtype = t.dtype or out.dtype
            out.shapes += t.shapes
        return out

    @property
    def max_rel(self) -> float:
        """max |reduced - fp32| / max |fp32| (as trtnn.debug.compare's max rel)."""
        if self.max_err == 0:
            return 0.0
        return self.max_err / self.max_ref if self.max_ref > 0 else math.inf


def _nonfinite_errors(a: torch.Tensor, b: torch.Tensor) -> Tuple[float, float, float, float]:
    """(signal power, error power, max error, max |a|) when a or b hold infinities or NaNs: equal infinities and NaN
    in both are no error, any other non-finite difference is an infinite error; the signal counts finite values."""
    same = (a == b) | (torch.isnan(a) & torch.isnan(b))
    err = torch.where(same, 0.0, torch.nan_to_num((b - a).abs(), nan=math.inf, posinf=math.inf))
    ref = torch.where(torch.isfinite(a), a, 0.0)
    return (float(ref.square().sum()), float(err.square().sum()), float(err.max()) if err.numel() else 0.0,
            float(ref.abs().max()) if ref.numel() else 0.0)


# ---- the report -------------------------------------------------------------------------------------------------
@dataclass
class PrecisionRow:
    """One module call (or `<name>` for network output `name`). sqnr and input_sqnr in dB; input_sqnr is the lowest
    SQNR among the module outputs feeding it (inf: it reads only network inputs and constants); overflow and
    underflow are fractions of its fp32 values beyond the reduced dtype's range / below its smallest subnormal."""

    path: str
    dtype: str
    shapes: List[Tuple[int, ...]]
    sqnr: float
    input_sqnr: float
    max_rel: float
    overflow: float
    underflow: float

    @property
    def drop(self) -> float:
        """dB lost in this module itself (input SQNR - output SQNR; inf when its inputs are exact)."""
        if math.isinf(self.input_sqnr) and self.input_sqnr > 0:
            return math.inf if math.isfinite(self.sqnr) or self.sqnr < 0 else 0.0
        if not math.isfinite(self.input_sqnr):
            return 0.0  # everything is inherited from a non-finite input
        return self.input_sqnr - self.sqnr

    @property
    def introduced(self) -> float:
        """Relative error power added here (noise-to-signal ratio of the output minus that of the inputs): how the
        automatic mode ranks modules."""
        out, inp = _nsr(self.sqnr), _nsr(self.input_sqnr)
        if math.isinf(inp):
            return 0.0
        return out - inp

    @property
    def is_output(self) -> bool:
        return self.path.startswith("<")


def _nsr(db: float) -> float:
    return math.inf if db == -math.inf else 10.0 ** (-db / 10.0)


def _json_number(v: float) -> Any:
    return v if math.isfinite(v) else str(v)  # JSON has no inf/nan


@dataclass
class PrecisionReport:
    """Per-module accuracy of a reduced-precision network against fp32 (rows in execution order). In automatic mode
    `keep_fp32` is the list found (else the one given) and `rounds` the search's steps."""

    rows: List[PrecisionRow]
    dtype: str
    batches: int
    keep_fp32: List[str] = field(default_factory=list)
    target_sqnr: Optional[float] = None
    target: Optional[float] = None
    metric: Optional[float] = None
    rounds: List[Dict[str, Any]] = field(default_factory=list)

    def row(self, path: str) -> PrecisionRow:
        found = next((r for r in self.rows if r.path == path), None)
        if found is None:
            raise ConfigError(f"no row for module '{path}' in the precision report (rows: "
                              f"{[r.path for r in self.rows[:8]]} ...)")
        return found

    @property
    def output_sqnr(self) -> float:
        """The lowest SQNR among the network outputs (dB)."""
        return min((r.sqnr for r in self.rows if r.is_output), default=math.inf)

    @property
    def overflows(self) -> List[PrecisionRow]:
        return [r for r in self.rows if r.overflow > 0]

    @property
    def underflows(self) -> List[PrecisionRow]:
        return [r for r in self.rows if r.underflow > 0]

    @property
    def met(self) -> Optional[bool]:
        """Whether the target (target_sqnr and/or the metric's target) is met; None without a target."""
        if self.target_sqnr is None and self.target is None:
            return None
        ok = self.target_sqnr is None or self.output_sqnr >= self.target_sqnr
        return ok and (self.target is None or (self.metric is not None and self.metric >= self.target))

    @property
    def goal(self) -> str:
        """The target in words ('SQNR >= 40 dB and metric >= 0.9'; '' without one)."""
        goal = [f"SQNR >= {self.target_sqnr:g} dB"] if self.target_sqnr is not None else []
        return " and ".join(goal + ([f"metric >= {self.target:g}"] if self.target is not None else []))

    def worst(self, n: int = 10) -> List[PrecisionRow]:
        """The `n` modules (network outputs left out) with the lowest SQNR, worst first."""
        mods = [r for r in self.rows if not r.is_output]
        return sorted(mods, key=lambda r: (r.sqnr, -r.max_rel))[:max(n, 0)]

    def to_dict(self) -> Dict[str, Any]:
        rows = [{"path": r.path, "dtype": r.dtype, "shapes": [list(s) for s in r.shapes],
                 "sqnr_db": _json_number(r.sqnr), "input_sqnr_db": _json_number(r.input_sqnr),
                 "drop_db": _json_number(r.drop), "max_rel": _json_number(r.max_rel), "overflow": r.overflow,
                 "underflow": r.underflow}
                for r in self.rows]
        return {"dtype": self.dtype, "batches": self.batches, "output_sqnr_db": _json_number(self.output_sqnr),
                "overflow": [r.path for r in self.overflows], "underflow": [r.path for r in self.underflows],
                "worst": [r.path for r in self.worst(10)], "keep_fp32": list(self.keep_fp32),
                "target_sqnr_db": self.target_sqnr, "target": self.target,
                "metric": None if self.metric is None else _json_number(self.metric), "met": self.met,
                "rounds": self.rounds, "rows": rows}

    def summary(self) -> str:
        text = (f"{self.dtype} vs fp32 over {self.batches} batch(es): output SQNR {_db(self.output_sqnr)} dB; "
                f"{len(self.overflows)} module(s) overflow, {len(self.underflows)} underflow")
        if self.metric is not None:
            text += f"; metric {self.metric:.4g}"
        if self.met is not None:
            text += f"; target {self.goal} {'met' if self.met else 'NOT met'}"
        if self.keep_fp32:
            text += f"; keep_fp32 {self.keep_fp32}"
        return text

    def format(self, top: Optional[int] = None) -> str:
        """The table (every row in execution order, or the `top` worst by SQNR), the overflow and underflow
        modules, and a summary line."""
        rows = self.rows if top is None else self.worst(top)
        table = [("module", "dtype", "shape", "SQNR dB", "in SQNR dB", "drop dB", "max rel", "overflow",
                  "underflow")]
        for r in rows:
            table.append((r.path, r.dtype, ", ".join("x".join(map(str, s)) or "scalar" for s in r.shapes),
                          _db(r.sqnr), _db(r.input_sqnr), _db(r.drop), f"{r.max_rel:.3g}", _frac(r.overflow),
                          _frac(r.underflow)))
        widths = [max(len(t[i]) for t in table) for i in range(len(table[0]))]
        lines = ["  ".join(v.ljust(w) for v, w in zip(t, widths)).rstrip() for t in table]
        for what, bad in (("overflow", self.overflows), ("underflow", self.underflows)):
            if bad:
                lines.append(f"{what}: " + ", ".join(f"{r.path} ({_frac(getattr(r, what))})" for r in bad))
        return "\n".join(lines + [self.summary()])

    def __str__(self) -> str:
        return self.format()


def _db(v: float) -> str:
    return f"{round(v, 1) + 0.0:.1f}" if math.isfinite(v) else str(v)


def _frac(v: float) -> str:
    return "" if v == 0 else f"{v:.3g}"


# ---- the graph: which module outputs feed each module -----------------------------------------------------------
def _upstream(net: Network, rows: Dict[str, List[str]]) -> Dict[str, List[str]]:
    """Row path -> the row paths whose outputs feed it (through unnamed layers in between; network inputs and
    constants feed nothing). Read from the fp32 network's layers and their module paths."""
    network = net.network
    producer: Dict[str, Tuple[str, List[str]]] = {}  # tensor -> (layer's module path, its input tensors)
    for k in range(network.num_layers):
        layer = network.get_layer(k)
        ins = [t.name for t in (layer.get_input(j) for j in range(layer.num_inputs)) if t is not None]
        for j in range(layer.num_outputs):
            producer[layer.get_output(j).name] = (module_path(layer.name), ins)
    owner = {t: p for p, names in rows.items() for t in names}
    memo: Dict[str, Tuple[str, ...]] = {}

    def feeding(tensor: str) -> Tuple[str, ...]:
        if tensor in owner:
            return (owner[tensor],)
        if tensor not in memo:
            memo[tensor] = ()  # cycles (loops) end here
            _, ins = producer.get(tensor, ("", []))
            memo[tensor] = tuple(dict.fromkeys(p for t in ins for p in feeding(t)))
        return memo[tensor]

    out: Dict[str, List[str]] = {}
    for path, names in rows.items():
        if path.startswith("<"):
            inputs = [t for n in names for t in producer.get(n, ("", []))[1]]
        else:
            base = module_path(path)
            inputs = [t for n in names if n in producer for t in _external_inputs(n, base, producer)]
        out[path] = [p for p in dict.fromkeys(q for t in inputs for q in feeding(t)) if p != path]
    return out


def _external_inputs(tensor: str, base: str, producer: Dict[str, Tuple[str, List[str]]]) -> List[str]:
    """The tensors that module `base`'s layers producing `tensor` read from outside `base` (the layer producing
    `tensor` counts as the module's even when named otherwise: a convolution folded into this BatchNorm)."""
    found, stack, seen = [], [tensor], set()
    while stack:
        t = stack.pop()
        if t in seen:
            continue
        seen.add(t)
        where, ins = producer.get(t, ("", []))
        if t != tensor and (t not in producer or not under(where, [base])):
            found.append(t)
        else:
            stack.extend(ins)
    return found


# ---- running ----------------------------------------------------------------------------------------------------
def as_feeds(data: Any, inputs: Sequence[Input], batches: Optional[int]) -> List[Dict[str, Any]]:
    """The batches of `data` (anything trtnn.quant.calibrate accepts) as a list, read once (every pass of the report
    and of the automatic search reuses them)."""
    from ..quant.data import as_batches, named_feed

    shapes = {i.name: tuple(i.shape) for i in inputs}
    feeds = []
    for k, feed in enumerate(as_batches(data, shapes)):
        if batches is not None and k >= batches:
            break
        feeds.append(named_feed(feed, list(shapes), f"precision data batch {k}"))
    if not feeds:
        raise ConfigError("precision report: the data gave no batch (an empty folder, file or iterable?)")
    return feeds


class Comparison:
    """The fp32 network of a model, compiled once; `run(reduced)` compares a reduced network with it on `feeds`."""

    def __init__(self, model: Any, inputs: Sequence[Input], feeds: List[Dict[str, Any]], fold_bn: bool) -> None:
        from ..reference import Executor

        self.model, self.inputs, self.feeds, self.fold_bn = model, list(inputs), feeds, fold_bn
        self.net = define(model, self.inputs, dtype="fp32", fold_bn=fold_bn)
        self.executor = Executor(self.net)
        self.rows = _row_tensors(self.net)
        self.upstream = _upstream(self.net, self.rows)

    def run(self, reduced: Network, label: str) -> Tuple[PrecisionReport, Outputs, Outputs]:
        """(report, fp32 outputs per batch, reduced outputs per batch)."""
        from ..quant.calibrator import observed_forward
        from ..reference import Executor

        ex = Executor(reduced)
        theirs = _row_tensors(reduced)
        pairs = {p: list(zip(self.rows[p], theirs[p])) for p in self.rows
                 if p in theirs and len(theirs[p]) == len(self.rows[p])}
        wanted = {a for ps in pairs.values() for a, _ in ps}
        lookup: Dict[str, List[str]] = {}  # reduced tensor -> fp32 tensors (compared once however many rows share it)
        for a, b in dict.fromkeys(pair for ps in pairs.values() for pair in ps):
            lookup.setdefault(b, []).append(a)
        out_names = {o.name for o in reduced.outputs}
        per_pair = {pair: _Tally() for ps in pairs.values() for pair in ps}
        refs: Outputs = []
        outs: Outputs = []
        for k, feed in enumerate(self.feeds):
            kept: Dict[str, torch.Tensor] = {}
            got: Dict[str, torch.Tensor] = {}
            observed_forward(self.executor, feed, wanted, kept.__setitem__)

            def compare(name: str, value: torch.Tensor) -> None:
                if name in out_names:
                    got[name] = value
                for ref in lookup.get(name, ()):
                    if ref in kept and value.is_floating_point() and value.shape == kept[ref].shape:
                        per_pair[ref, name].add(kept[ref], value, k == 0)

            observed_forward(ex, feed, set(lookup) | out_names, compare)
            refs.append({o.name: kept[o.name] for o in self.net.outputs if o.name in kept})
            outs.append(got)
        tallies = {p: _Tally.merged([per_pair[pair] for pair in ps]) for p, ps in pairs.items()}
        rows = []
        for path, tally in tallies.items():
            if tally.count == 0:
                continue  # not floating, or computed inside a loop / conditional
            ins = [tallies[p] for p in self.upstream.get(path, []) if p in tallies and tallies[p].count]
            rows.append(PrecisionRow(path, dtypes.short(tally.dtype), tally.shapes, sqnr_db(tally.signal, tally.noise),
                                     min((sqnr_db(t.signal, t.noise) for t in ins), default=math.inf),
                                     tally.max_rel, tally.overflow / tally.count, tally.underflow / tally.count))
        return PrecisionReport(rows, label, len(self.feeds)), refs, outs


def _row_tensors(net: Network) -> Dict[str, List[str]]:
    """Row path -> tensor names: every module call with its own output tensors, then `<name>` per network output."""
    layer_outputs = {net.network.get_input(k).name for k in range(net.network.num_inputs)}
    for k in range(net.network.num_layers):
        layer = net.network.get_layer(k)
        layer_outputs.update(layer.get_output(j).name for j in range(layer.num_outputs))
    rows = {p: list(names) for p, names in net.module_outputs.items()
            if p not in net.folded and names and all(n in layer_outputs for n in names)}
    rows.update({f"<{o.name}>": [o.name] for o in net.outputs})
    return rows


# ---- the entry point --------------------------------------------------------------------------------------------
def precision_report(model: Any, inputs: Sequence[Input], data: Any, dtype: str = "fp16", *,
                     calibration: Any = None, method: str = "entropy", calib_cache: Optional[str] = None,
                     keep_fp32: Sequence[str] = (), keep_fp16: Sequence[str] = (), exclude: Sequence[str] = (),
                     base_dtype: str = "fp16", batches: Optional[int] = None, fold_bn: bool = True,
                     target_sqnr: Optional[float] = None, metric: Optional[Metric] = None,
                     target: Optional[float] = None, max_rounds: int = 16, print_report: bool = False,
                     top: Optional[int] = None, strategy: str = "bisect", direction: str = "forward"
                     ) -> PrecisionReport:
    """Run `model` in fp32 and in `dtype` ('fp16'|'bf16'|'int8'|'fp8') on the CPU executor over `data` and report,
    per module call, SQNR (dB, accumulated over all batches) and max relative error against fp32, fp16/bf16 overflow
    and underflow, and the SQNR of the module's inputs (what it inherits vs what it loses itself).

    inputs: trtnn.Input with static shapes. data: what trtnn.quant.calibrate accepts (trtnn.quant.image_data(...),
    a .npy/.npz path or folder, an iterable of input dicts); read once, `batches` at most.
    int8/fp8: `calibration` (as trtnn.define takes it), else calibrated here on the same data with `method` (and
    `calib_cache`); `exclude` / `base_dtype` as in trtnn.define. keep_fp32 / keep_fp16: as in trtnn.define.
    Automatic mode (target_sqnr=dB and/or metric=callable with target=score): finds modules to keep in fp32 until
    the lowest network-output SQNR >= target_sqnr and metric(fp32 outputs, reduced outputs) >= target (each a list
    per batch of {output name: tensor}); the report's `keep_fp32` is the list found, `rounds` every probe.
    strategy 'bisect' (trtnn.debug.bisect): binary search for the shortest range of leaf modules in execution
    order, from the front (direction 'forward') or the back ('reverse'), at most `max_rounds` probes after the first;
    'greedy' (trtnn.debug.greedy): one module per round, the one that loses most, at most `max_rounds` rounds.
    """
    from ..errors import require_int

    if dtype not in DTYPES:
        raise ConfigError(f"precision report: dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if (metric is None) != (target is None):
        raise ConfigError("precision report: metric= and target= go together (the automatic mode keeps modules in "
                          f"fp32 until metric(fp32 outputs, reduced outputs) >= target); got metric={metric!r}, "
                          f"target={target!r}")
    if metric is not None and not callable(metric):
        raise ConfigError(f"precision report: metric must be a callable (fp32 outputs, reduced outputs) -> float, "
                          f"got {type(metric).__name__}")
    for name, value in (("target_sqnr", target_sqnr), ("target", target)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value)):
            raise ConfigError(f"precision report: {name} must be a finite number, got {value!r}")
    require_int(max_rounds, "max_rounds", "precision report", minimum=1)
    if strategy not in STRATEGIES:
        raise ConfigError(f"precision report: strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if direction not in ("forward", "reverse"):
        raise ConfigError(f"precision report: direction must be 'forward' or 'reverse' (strategy 'bisect'), got "
                          f"{direction!r}")
    if batches is not None:
        require_int(batches, "batches", "precision report", minimum=1)
    quantized = quant_format(dtype) is not None
    if not quantized and (calibration is not None or calib_cache or exclude):
        raise ConfigError(f"precision report: calibration=, calib_cache= and exclude= are for dtype 'int8' or 'fp8', "
                          f"got dtype={dtype!r}")
    inputs = _static(inputs)
    feeds = as_feeds(data, inputs, batches)
    if quantized and calibration is None:
        from ..quant import calibrate

        calibration = calibrate(model, inputs, feeds, method=method, cache=calib_cache)
    quant = dict(calibration=calibration, exclude=list(exclude), base_dtype=base_dtype) if quantized else {}
    label = f"{dtype} (rest {base_dtype})" if quantized else dtype

    def reduced(keep: Sequence[str]) -> Network:
        return define(model, inputs, dtype=dtype, fold_bn=fold_bn, keep_fp32=list(keep), keep_fp16=keep_fp16,
                      **quant)

    comparison = Comparison(model, inputs, feeds, fold_bn)
    if target_sqnr is None and metric is None:
        report = comparison.run(reduced(keep_fp32), label)[0]
        report.keep_fp32 = list(keep_fp32)
    elif strategy == "greedy":
        from .greedy import search

        report = search(comparison, reduced, label, list(keep_fp32), target_sqnr, metric, target, max_rounds)
    else:
        from .bisect import bisect

        report = bisect(comparison, reduced, label, list(keep_fp32), target_sqnr, metric, target, max_rounds,
                        direction)
    if print_report:
        print(report.format(top))
    return report


def _static(inputs: Sequence[Input]) -> List[Input]:
    if isinstance(inputs, Input) or not isinstance(inputs, (list, tuple)) or \
            not all(isinstance(i, Input) for i in inputs):
        raise ConfigError(f"precision report: inputs must be a list of trtnn.Input, got {inputs!r}")
    dynamic = [i.name for i in inputs if i.is_dynamic]
    if dynamic:
        raise ConfigError(f"precision report: input(s) {dynamic} have dynamic dims; give the shapes of the data "
                          "batches (every dim fixed)")
    return list(inputs)
