"""The evaluation every precision search shares: the fp32 network of a model compiled once (`Comparison`), a reduced
network run against it module by module on the CPU executor, and one probe of a search (`evaluate`) with its target
(`Goal`). trtnn.debug.report, .greedy and .bisect all build on this module (none of them on each other)."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from .. import dtypes
from ..compile import Input, Network, define
from ..compile.quantize.selection import module_path, under
from ..errors import ConfigError
from ..quant.data import as_batches, named_feed
from ..reference import Executor
from .measure import Tally, json_number, sqnr_db
from .results import PrecisionReport, PrecisionRow

Outputs = List[Dict[str, torch.Tensor]]  # network outputs per batch
Metric = Callable[[Outputs, Outputs], float]  # (fp32 outputs, reduced outputs) -> score, higher is better
Reduced = Callable[[Sequence[str]], Network]  # keep_fp32 list -> the reduced network


@dataclass(frozen=True)
class Goal:
    """What an automatic search must reach: the lowest network-output SQNR >= target_sqnr (dB) and/or
    metric(fp32 outputs, reduced outputs) >= target; at most `max_rounds` probes after the first."""

    target_sqnr: Optional[float] = None
    metric: Optional[Metric] = None
    target: Optional[float] = None
    max_rounds: int = 16

    @property
    def given(self) -> bool:
        return self.target_sqnr is not None or self.metric is not None


def call_path(path: str) -> str:
    """The module path of a module call (`a.b#1` -> `a.b`), as keep_fp32 takes it."""
    return re.sub(r"#\d+$", "", path)


# ---- the graph: which module outputs feed each module -----------------------------------------------------------
def row_tensors(net: Network) -> Dict[str, List[str]]:
    """Row path -> tensor names: every module call with its own output tensors, then `<name>` per network output."""
    layer_outputs = {net.network.get_input(k).name for k in range(net.network.num_inputs)}
    for k in range(net.network.num_layers):
        layer = net.network.get_layer(k)
        layer_outputs.update(layer.get_output(j).name for j in range(layer.num_outputs))
    rows = {p: list(names) for p, names in net.module_outputs.items()
            if p not in net.folded and names and all(n in layer_outputs for n in names)}
    rows.update({f"<{o.name}>": [o.name] for o in net.outputs})
    return rows


def upstream(net: Network, rows: Dict[str, List[str]]) -> Dict[str, List[str]]:
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
        self.model, self.inputs, self.feeds, self.fold_bn = model, list(inputs), feeds, fold_bn
        self.net = define(model, self.inputs, dtype="fp32", fold_bn=fold_bn)
        self.executor = Executor(self.net)
        self.rows = row_tensors(self.net)
        self.upstream = upstream(self.net, self.rows)

    def run(self, reduced: Network, label: str) -> Tuple[PrecisionReport, Outputs, Outputs]:
        """(report, fp32 outputs per batch, reduced outputs per batch)."""
        ex = Executor(reduced)
        theirs = row_tensors(reduced)
        pairs = {p: list(zip(self.rows[p], theirs[p])) for p in self.rows
                 if p in theirs and len(theirs[p]) == len(self.rows[p])}
        wanted = {a for ps in pairs.values() for a, _ in ps}
        lookup: Dict[str, List[str]] = {}  # reduced tensor -> fp32 tensors (compared once however many rows share it)
        for a, b in dict.fromkeys(pair for ps in pairs.values() for pair in ps):
            lookup.setdefault(b, []).append(a)
        out_names = {o.name for o in reduced.outputs}
        per_pair = {pair: Tally() for ps in pairs.values() for pair in ps}
        refs: Outputs = []
        outs: Outputs = []
        for k, feed in enumerate(self.feeds):
            kept: Dict[str, torch.Tensor] = {}
            got: Dict[str, torch.Tensor] = {}

            def keep(name: str, value: torch.Tensor) -> None:
                if name in wanted:
                    kept[name] = value

            def compare(name: str, value: torch.Tensor) -> None:
                if name in out_names:
                    got[name] = value
                for ref in lookup.get(name, ()):
                    if ref in kept and value.is_floating_point() and value.shape == kept[ref].shape:
                        per_pair[ref, name].add(kept[ref], value, k == 0)

            self.executor(feed, observe=keep)
            ex(feed, observe=compare)
            refs.append({o.name: kept[o.name] for o in self.net.outputs if o.name in kept})
            outs.append(got)
        tallies = {p: Tally.merged([per_pair[pair] for pair in ps]) for p, ps in pairs.items()}
        rows = []
        for path, tally in tallies.items():
            if tally.count == 0:
                continue  # not floating, or computed inside a loop / conditional
            ins = [tallies[p] for p in self.upstream.get(path, []) if p in tallies and tallies[p].count]
            rows.append(PrecisionRow(path, dtypes.short(tally.dtype), tally.shapes, tally.sqnr,
                                     min((sqnr_db(t.signal, t.noise) for t in ins), default=math.inf),
                                     tally.max_rel, tally.overflow / tally.count, tally.underflow / tally.count))
        return PrecisionReport(rows, label, len(self.feeds)), refs, outs


# ---- one probe of a search --------------------------------------------------------------------------------------
def evaluate(comparison: Comparison, reduced: Reduced, label: str, keep: List[str], goal: Goal) -> PrecisionReport:
    """One probe of a search: the report of the reduced network with `keep` in fp32, its target and metric set."""
    report, refs, outs = comparison.run(reduced(keep), label)
    report.keep_fp32, report.target_sqnr, report.target = list(keep), goal.target_sqnr, goal.target
    if goal.metric is not None:
        report.metric = float(goal.metric(refs, outs))
    return report


def round_entry(report: PrecisionReport) -> Dict[str, Any]:
    """A probe as `PrecisionReport.rounds` lists it (JSON-ready)."""
    return {"keep_fp32": list(report.keep_fp32), "output_sqnr_db": json_number(report.output_sqnr),
            "metric": None if report.metric is None or math.isnan(report.metric) else json_number(report.metric),
            "met": report.met}
