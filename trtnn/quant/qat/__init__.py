"""QAT import: a quantization-aware-trained model's weights and quantizer ranges, for an engine that computes the
trained fake-quant network (Q/DQ exactly where the trained model had its quantizers: trtnn.compile.quantize.exact).

- `from_qat(torch_qat_model or state_dict, trtnn_model, inputs)`: loads the weights (fused ConvBn keys mapped) and
  returns (state_dict, QATRanges); with the torch model, quantizers are mapped by where they sit (importer.py).
- `qat_calibration(state_dict)`: QATRanges by module path only (keys.py): ModelOpt `X.input_quantizer._amax` ->
  input of module X (`X:input`; pooling too), `X.output_quantizer._amax` -> X's output, `X.weight_quantizer._amax`
  -> X's weights (per channel, of the unfolded kernel); torch.ao `X.activation_post_process.scale/zero_point` ->
  X's output, `X.weight_fake_quant.scale` -> X's weights (of the folded kernel when X is a fused ConvBn).
torch.ao's affine / unsigned ranges: see affine.py (exact when the integer range fits [-128, 127] around the zero
point; else the nearest symmetric range and a warning naming the quantizer and the error).
"""
from __future__ import annotations

from typing import Any, Mapping

from ...compile.quantize.ranges import QATRanges, Site
from .importer import from_qat
from .keys import from_state_dict

QAT_KEYS = ["*_quantizer.*", "*activation_post_process*", "*weight_fake_quant*"]
"""Glob patterns of quantizer keys: `module.load_state_dict(sd, ignore=trtnn.quant.QAT_KEYS)` loads a QAT
checkpoint's weights (not fused ones: use `from_qat`) and leaves its quantizer ranges to `qat_calibration`."""


def qat_calibration(state_dict: Mapping[str, Any], strict: bool = True) -> QATRanges:
    """The quantizers of a QAT state_dict by module path (activation ranges in `.amax`, weight ranges in
    `.weight_amax`, only), for `trtnn.define(..., dtype="int8", calibration=qat_calibration(sd))`. Module paths
    must be the trtnn model's; `from_qat` with the torch model maps by position instead."""
    return from_state_dict(state_dict, strict)


__all__ = ["QATRanges", "QAT_KEYS", "Site", "from_qat", "qat_calibration"]
