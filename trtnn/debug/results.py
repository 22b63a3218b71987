"""What a precision report holds: one row per module call (SQNR, inherited SQNR, max relative error, fp16/bf16
overflow and underflow) and the report over them (worst modules, output SQNR, the target and the search's rounds)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ..errors import ConfigError
from .measure import format_db, format_fraction, json_number


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
                 "sqnr_db": json_number(r.sqnr), "input_sqnr_db": json_number(r.input_sqnr),
                 "drop_db": json_number(r.drop), "max_rel": json_number(r.max_rel), "overflow": r.overflow,
                 "underflow": r.underflow}
                for r in self.rows]
        return {"dtype": self.dtype, "batches": self.batches, "output_sqnr_db": json_number(self.output_sqnr),
                "overflow": [r.path for r in self.overflows], "underflow": [r.path for r in self.underflows],
                "worst": [r.path for r in self.worst(10)], "keep_fp32": list(self.keep_fp32),
                "target_sqnr_db": self.target_sqnr, "target": self.target,
                "metric": None if self.metric is None else json_number(self.metric), "met": self.met,
                "rounds": self.rounds, "rows": rows}

    def summary(self) -> str:
        text = (f"{self.dtype} vs fp32 over {self.batches} batch(es): output SQNR {format_db(self.output_sqnr)} "
                f"dB; {len(self.overflows)} module(s) overflow, {len(self.underflows)} underflow")
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
                          format_db(r.sqnr), format_db(r.input_sqnr), format_db(r.drop), f"{r.max_rel:.3g}",
                          format_fraction(r.overflow), format_fraction(r.underflow)))
        widths = [max(len(t[i]) for t in table) for i in range(len(table[0]))]
        lines = ["  ".join(v.ljust(w) for v, w in zip(t, widths)).rstrip() for t in table]
        for what, bad in (("overflow", self.overflows), ("underflow", self.underflows)):
            if bad:
                lines.append(f"{what}: " + ", ".join(f"{r.path} ({format_fraction(getattr(r, what))})" for r in bad))
        return "\n".join(lines + [self.summary()])

    def __str__(self) -> str:
        return self.format()
