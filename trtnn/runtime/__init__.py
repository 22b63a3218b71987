"""Run engines and network definitions: `Runner` (GPU engines; `device='cpu'` runs the definition on the CPU
executor with the same code), `Results` of end-to-end engines, `draw` to put them on images."""
from .bindings import Profile, TensorSpec, select_profile
from .drawing import draw
from .results import Results, results_from
from .runner import Runner

__all__ = ["Profile", "Results", "Runner", "TensorSpec", "draw", "results_from", "select_profile"]
