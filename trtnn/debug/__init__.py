"""Layer-level debugging on the CPU executor: per-module comparison with PyTorch (`compare`), the per-module
precision report of a reduced-precision network (`precision_report`) and its searches for what to keep in fp32
(`bisect`, `greedy`), and `mark_debug` for TensorRT's debug tensors on a GPU."""
from .compare import ROOT, CompareReport, Row, compare, mark_debug, module_paths
from .evaluate import Goal
from .report import precision_report
from .results import PrecisionReport, PrecisionRow

__all__ = ["ROOT", "CompareReport", "Goal", "PrecisionReport", "PrecisionRow", "Row", "compare", "mark_debug",
           "module_paths", "precision_report"]
