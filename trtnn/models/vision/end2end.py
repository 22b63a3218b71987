"""What every end-to-end vision wrapper shares: preprocess -> raw model -> post-processing in one engine, its network
inputs, its build-time thresholds (for the engine sidecar) and the mapping of boxes back to the original images."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

from ... import functional as F
from ...compile import Input
from ...graph.module import Module
from ...graph.tensor import Tensor
from .boxes import scale_boxes
from .inputs import check_extra_inputs, image_inputs, model_stride
from .ops import row_mask
from .preprocess import Preprocess


class ImageEnd2End(Module):
    """Base of the end-to-end wrappers. Subclasses set `preprocess` (an in-engine Preprocess, or None for float NCHW
    input), `model`, `runtime_thresholds` and `scale_to_orig`, name their run-time threshold inputs in
    `THRESHOLD_INPUTS`, and report their build-time thresholds in `thresholds()`.

    Network inputs, in the order `inputs()` lists them: images (uint8 when `preprocess` is given, else float NCHW),
    then the THRESHOLD_INPUTS (fp32 [1] each) if runtime_thresholds, then orig_size (int32 [B, 2], (h, w)) if
    scale_to_orig.
    """

    THRESHOLD_INPUTS: Tuple[str, ...] = ()
    QUANT_SCOPE = "model"  # INT8/FP8 quantize the raw model only: pre- and post-processing (mask assembly) stay float
    preprocess: Optional[Preprocess]  # set by each wrapper (a submodule, or None)
    runtime_thresholds: bool = False
    scale_to_orig: bool = False

    def inputs(self, imgsz: Tuple[int, int], batch: int = 1, max_batch: Optional[int] = None,
               min_imgsz: Optional[Tuple[int, int]] = None) -> List[Input]:
        """The network inputs for images of (h, w) = imgsz, in forward's order; a dynamic batch of 1..max_batch
        when `max_batch` is given, a dynamic height and width from min_imgsz to imgsz (multiples of the model's
        stride, see `model_stride`) when `min_imgsz` is."""
        return image_inputs(self.preprocess, imgsz, self.scale_to_orig, batch, max_batch,
                            self.THRESHOLD_INPUTS if self.runtime_thresholds else (), min_imgsz,
                            model_stride(self.model))

    def split_inputs(self, extra: Sequence[Tensor]) -> Tuple[Tuple[Optional[Tensor], ...], Optional[Tensor]]:
        """(the threshold inputs, or Nones without runtime_thresholds; orig_size or None) from the inputs after the
        images, after checking their count."""
        n = len(self.THRESHOLD_INPUTS)
        check_extra_inputs(self, extra, n * self.runtime_thresholds + self.scale_to_orig)
        thresholds = tuple(extra[:n]) if self.runtime_thresholds else (None,) * n
        return thresholds, extra[-1] if self.scale_to_orig else None

    def thresholds(self) -> Optional[Dict[str, Any]]:
        """The build-time thresholds (conf, iou, max_det, ...; `runtime`: whether inputs override them), or None."""
        return None

    def image_layout(self) -> Optional[str]:
        """'NHWC BGR' etc. of the uint8 images the engine normalizes itself; None when the caller preprocesses."""
        p = self.preprocess
        return None if p is None else f"{p.layout} {'BGR' if p.bgr else 'RGB'}"

    @staticmethod
    def boxes_to_orig(out: Dict[str, Tensor], orig_size: Tensor, input_hw: Tuple[Any, Any],
                      yolov5: bool = False) -> None:
        """out['det_boxes'] mapped back to the letterboxed original images (`scale_boxes`); rows past num_dets stay
        zero."""
        boxes = out["det_boxes"]
        rows = row_mask(out["num_dets"], boxes.shape[1]).unsqueeze(2)
        out["det_boxes"] = F.where(rows, scale_boxes(boxes, orig_size, input_hw, yolov5=yolov5), 0.0)
