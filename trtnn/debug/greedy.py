"""Automatic mixed precision: keep the modules that lose most in fp32 until a target is met (greedy, on the CPU).

Each round runs the reduced network with the current keep_fp32 list, takes the module that adds the most relative
error itself (trtnn.debug.report.PrecisionRow.introduced: its output's noise-to-signal ratio minus its inputs') and
keeps it in fp32 (replacing kept modules inside it). A kept module still hands its output on in the reduced dtype
(trtnn casts at module boundaries): an overflow at its output shows in the rows of the modules around it, so the
search widens to the enclosing module in a later round.
Polygraphy's precision bisection (trtnn.debug.bisect) searches over ranges of modules instead; this search uses
the per-module errors to pick directly.
"""
from __future__ import annotations

import math
import re
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from ..compile import Network
from .report import Comparison, Metric, PrecisionReport, _json_number
from ..compile.quantize.selection import under


def call_path(path: str) -> str:
    """The module path of a module call (`a.b#1` -> `a.b`), as keep_fp32 takes it."""
    return re.sub(r"#\d+$", "", path)


def next_keep(report: PrecisionReport, keep: List[str], tried: Set[Tuple[str, ...]]) -> Optional[List[str]]:
    """The keep_fp32 list of the next round, or None when no module adds error that keeping could remove."""
    for row in sorted((r for r in report.rows if not r.is_output), key=lambda r: -r.introduced):
        if not row.introduced > 0:
            return None
        path = call_path(row.path)
        if any(under(path, [k]) for k in keep):
            continue  # computed in fp32 already: what it still loses is at the kept module's boundary (its row)
        candidate = [k for k in keep if not under(k, [path])] + [path]
        key = tuple(sorted(candidate))
        if key not in tried:
            tried.add(key)
            return candidate
    return None


def evaluate(comparison: Comparison, reduced: Callable[[Sequence[str]], Network], label: str, keep: List[str],
             target_sqnr: Optional[float], metric: Optional[Metric], target: Optional[float]) -> PrecisionReport:
    """One probe of a search: the report of the reduced network with `keep` in fp32, its target and metric set."""
    report, refs, outs = comparison.run(reduced(keep), label)
    report.keep_fp32, report.target_sqnr, report.target = list(keep), target_sqnr, target
    if metric is not None:
        report.metric = float(metric(refs, outs))
    return report


def round_entry(report: PrecisionReport) -> Dict[str, Any]:
    """A probe as `PrecisionReport.rounds` lists it (JSON-ready)."""
    return {"keep_fp32": list(report.keep_fp32), "output_sqnr_db": _json_number(report.output_sqnr),
            "metric": None if report.metric is None or math.isnan(report.metric) else _json_number(report.metric),
            "met": report.met}


def search(comparison: Comparison, reduced: Callable[[Sequence[str]], Network], label: str, keep: List[str],
           target_sqnr: Optional[float], metric: Optional[Metric], target: Optional[float], max_rounds: int
           ) -> PrecisionReport:
    """Greedy rounds (at most `max_rounds` changes) until the report meets the target; the last report, with
    `keep_fp32` and the `rounds` tried."""
    rounds: List[Dict[str, Any]] = []
    tried = {tuple(sorted(keep))}
    while True:
        report = evaluate(comparison, reduced, label, keep, target_sqnr, metric, target)
        rounds.append(round_entry(report))
        if report.met or len(rounds) > max_rounds:
            break
        step = next_keep(report, keep, tried)
        if step is None:
            break
        keep = step
    report.rounds = rounds
    return report
