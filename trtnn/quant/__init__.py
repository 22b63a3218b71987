"""INT8/FP8 by explicit quantization: Q/DQ placement (placement.py), Q/DQ arithmetic (qdq.py), quantizer ranges
(ranges.py), QAT checkpoints' ranges (qat.py), excluded and kept modules (selection.py)."""
from .placement import Quantizer
from .qat import QAT_KEYS, qat_calibration
from .qdq import quantize, scale_of, weight_amax
from .ranges import Ranges, as_ranges

__all__ = ["QAT_KEYS", "Quantizer", "Ranges", "as_ranges", "qat_calibration", "quantize", "scale_of", "weight_amax"]
