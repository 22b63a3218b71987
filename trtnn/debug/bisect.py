"""Automatic mixed precision by bisection (Polygraphy's `debug precision`, on the CPU executor).

The network's leaf modules in execution order are the units (a convolution folded into its BatchNorm is one of
them). A binary search finds the shortest prefix (direction 'forward') or suffix ('reverse') of units that must
compute in fp32 for the target to be met; a second binary search then drops units from the other end of that range
while the target stays met: the result is the shortest contiguous range of units found this way, in
2 + 2 * ceil(log2(units)) probes at most. Each probe is one reduced-network run (trtnn.debug.evaluate.Comparison); every
unit of a module kept whole is passed as that module (`model.2` for all of model.2's units). Binary search assumes
that keeping more in fp32 never loses accuracy; `report.rounds` lists every probe to check it.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Sequence, Tuple

from ..compile import Network
from ..compile.quantize.selection import under
from ..errors import ConfigError
from .evaluate import Comparison, Goal, Reduced, call_path, evaluate, round_entry
from .results import PrecisionReport


def leaf_modules(net: Network, keep: Sequence[str] = ()) -> List[str]:
    """The leaf module paths of a network definition in execution order (each once), those under `keep` left out."""
    calls = list(dict.fromkeys(call_path(p) for p in net.module_outputs if p))
    inner = {".".join(p.split(".")[:i]) for p in calls for i in range(1, p.count(".") + 1)}
    return [p for p in calls if p not in inner and not under(p, keep)]


def compact(chosen: Sequence[str], units: Sequence[str]) -> List[str]:
    """`chosen` units (a subset of `units`) as keep_fp32 paths in execution order: the outermost module whose units
    are all chosen stands for them."""
    picked = set(chosen)
    members: Dict[str, List[str]] = {}
    for u in units:
        parts = u.split(".")
        for i in range(1, len(parts) + 1):
            members.setdefault(".".join(parts[:i]), []).append(u)
    out: List[str] = []
    for u in units:
        if u not in picked:
            continue
        parts = u.split(".")
        top = next(p for p in (".".join(parts[:i]) for i in range(1, len(parts) + 1))
                   if all(m in picked for m in members[p]))
        if top not in out:
            out.append(top)
    return out


class _Probes:
    """Runs probes (a set of units kept in fp32 on top of the given keep list) and records them."""

    def __init__(self, comparison: Comparison, reduced: Reduced, label: str, keep: List[str], goal: Goal,
                 units: List[str]) -> None:
        self.args = comparison, reduced, label
        self.keep, self.goal, self.units = keep, goal, units
        self.rounds: List[Dict[str, Any]] = []

    def __call__(self, chosen: Sequence[str], step: str) -> PrecisionReport:
        keep = self.keep + compact(chosen, self.units)
        report = evaluate(*self.args, keep, self.goal)
        self.rounds.append({**round_entry(report), "step": step, "units": len(chosen)})
        return report


def bisect(comparison: Comparison, reduced: Reduced, label: str, keep: List[str], goal: Goal,
           direction: str = "forward") -> PrecisionReport:
    """The report of the shortest range of units found that meets the goal (at most `goal.max_rounds` probes after
    the first; when they run out, the shortest range met so far), with `keep_fp32` and every probe in `rounds`.
    Raises ConfigError when even every unit in fp32 does not meet the target."""
    units = leaf_modules(comparison.net, keep)
    order = units if direction == "forward" else units[::-1]
    probe = _Probes(comparison, reduced, label, keep, goal, units)
    max_rounds = goal.max_rounds
    best = probe([], "none")
    if not best.met:
        best = probe(units, "all")
        if not best.met:
            raise ConfigError(f"precision report: the target ({best.goal}) is not met even with all "
                              f"{len(units)} leaf modules in fp32 (output SQNR {best.output_sqnr:.1f} dB"
                              f"{'' if best.metric is None else f', metric {best.metric:.4g}'}; layers outside "
                              "every module, such as the input casts, stay in the reduced dtype); lower the target")
        side = "prefix" if direction == "forward" else "suffix"
        best, end = _shortest(lambda k: probe(order[:k], side), len(order), best, probe.rounds, max_rounds)
        best, _ = _shortest(lambda k: probe(order[end - k:end], "range"), end, best, probe.rounds, max_rounds)
    best.rounds = probe.rounds
    return best


def _shortest(run: Callable[[int], PrecisionReport], good: int, best: PrecisionReport, rounds: List[Any],
              max_rounds: int) -> Tuple[PrecisionReport, int]:
    """Binary search for the smallest k in 1..good whose probe `run(k)` meets the target (`run(good)` does: `best`;
    no unit kept does not): (its report, k)."""
    bad = 0
    while good - bad > 1 and len(rounds) <= max_rounds:
        mid = (bad + good) // 2
        report = run(mid)
        if report.met:
            best, good = report, mid
        else:
            bad = mid
    return best, good

