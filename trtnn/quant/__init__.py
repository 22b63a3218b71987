"""INT8/FP8 by explicit quantization: Q/DQ placement (placement.py), Q/DQ arithmetic (qdq.py), QAT ranges (qat.py)."""
from .placement import Quantizer, Ranges, as_ranges
from .qat import QAT_KEYS, qat_calibration
from .qdq import quantize, scale_of, weight_amax

__all__ = ["QAT_KEYS", "Quantizer", "Ranges", "as_ranges", "qat_calibration", "quantize", "scale_of", "weight_amax"]
