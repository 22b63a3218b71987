"""Automatic mixed precision: keep the modules that lose most in fp32 until a target is met (greedy, on the CPU).

Each round runs the reduced network with the current keep_fp32 list, takes the module that adds the most relative
error itself (trtnn.debug.results.PrecisionRow.introduced: its output's noise-to-signal ratio minus its inputs') and
keeps it in fp32 (replacing kept modules inside it). A kept module still hands its output on in the reduced dtype
(trtnn casts at module boundaries): an overflow at its output shows in the rows of the modules around it, so the
search widens to the enclosing module in a later round.
Polygraphy's precision bisection (trtnn.debug.bisect) searches over ranges of modules instead; this search uses
the per-module errors to pick directly.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Set, Tuple

from ..compile.quantize.selection import under
from .evaluate import Comparison, Goal, Reduced, call_path, evaluate, round_entry
from .results import PrecisionReport


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


def search(comparison: Comparison, reduced: Reduced, label: str, keep: List[str], goal: Goal) -> PrecisionReport:
    """Greedy rounds (at most `goal.max_rounds` changes) until the report meets the goal; the last report, with
    `keep_fp32` and the `rounds` tried."""
    rounds: List[Dict[str, Any]] = []
    tried = {tuple(sorted(keep))}
    while True:
        report = evaluate(comparison, reduced, label, keep, goal)
        rounds.append(round_entry(report))
        if report.met or len(rounds) > goal.max_rounds:
            break
        step = next_keep(report, keep, tried)
        if step is None:
            break
        keep = step
    report.rounds = rounds
    return report
