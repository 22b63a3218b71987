"""parse_model and DetectionModel (ultralytics/nn/tasks.py, yolov5 models/yolo.py) plus the factories."""
from __future__ import annotations

import math
from typing import Any, Dict, List, Sequence, Tuple

from ... import nn
from ...errors import ConfigError, require_int
from ...graph.module import Module
from ...graph.tensor import Tensor
from .classify import Classify
from .common import C2PSA, SPPF, C2f, C3, C3k2, Concat, Conv, Detect, Segment, V5Detect
from .graphs import (YOLO11, YOLO11_CLS, YOLO11_OBB, YOLO11_SEG, YOLO26, YOLO26_CLS, YOLO26_OBB, YOLO26_SEG, YOLOV5,
                     YOLOV8, YOLOV8_CLS, YOLOV8_OBB, YOLOV8_SEG, YOLOV10, pose_graph)
from .obb import OBB, OBB26
from .pose import Pose, Pose26, check_kpt_shape
from .segment26 import Segment26
from .v10 import PSA, SCDown, C2fCIB, v10Detect


def make_divisible(x, divisor):
    """Returns nearest x divisible by divisor."""
    return math.ceil(x / divisor) * divisor


def parse_model(d: Dict[str, Any], scale: str, nc: int, ch: int = 3) -> Tuple[nn.ModuleList, List[int]]:
    """Build the layer list from a graph dict, as the originals' parse_model do."""
    depth, width, max_channels = d["scales"][scale]
    legacy = True  # Detect keeps the v8 classification branch unless the graph has C3k2 (YOLO11)
    end2end, reg_max = d.get("end2end", False), d.get("reg_max", 16)  # YOLO26's one-to-one branch, DFL bins
    ch = [ch]
    layers, save, c2 = [], [], ch[-1]  # layers, savelist, ch out
    for i, (f, n, m, args) in enumerate(d["backbone"] + d["head"]):  # from, number, module, args
        args = [nc if a == "nc" else d["anchors"] if a == "anchors" else a for a in args]
        n = max(round(n * depth), 1) if n > 1 else n  # depth gain
        if m in (Conv, C2f, C3k2, C3, SPPF, C2PSA, SCDown, C2fCIB, PSA):
            c1, c2 = ch[f], make_divisible(min(args[0], max_channels) * width, 8)
            args = [c1, c2, *args[1:]]
            if m in (C2f, C3k2, C3, C2PSA, C2fCIB):
                args.insert(2, n)  # number of repeats
                n = 1
            if m is C3k2:
                legacy = False
                if scale in "mlx":  # for M/L/X sizes
                    args[3] = True
        elif m is Concat:
            c2 = sum(ch[x] for x in f)
        elif m is Detect:
            args = [args[0], [ch[x] for x in f], legacy, reg_max, end2end]
        elif m is v10Detect:
            args = [args[0], [ch[x] for x in f]]
        elif m is Segment:  # nc, nm, npr (the protos, scaled like a channel count)
            args = [args[0], args[1], make_divisible(min(args[2], max_channels) * width, 8), [ch[x] for x in f], legacy]
        elif m is Segment26:  # nc, nm, npr (scaled as Segment's), then Detect's arguments
            args = [args[0], args[1], make_divisible(min(args[2], max_channels) * width, 8), [ch[x] for x in f], legacy,
                    reg_max, end2end]
        elif m in (OBB, OBB26):  # nc, ne
            args = [args[0], args[1], [ch[x] for x in f], legacy, reg_max, end2end]
        elif m is V5Detect:
            args = [*args, [ch[x] for x in f]]
        elif m in (Pose, Pose26):  # nc, kpt_shape
            args = [args[0], args[1], [ch[x] for x in f], legacy, reg_max, end2end]
        elif m is Classify:  # c1, number of classes (unscaled)
            c2 = args[0]
            args = [ch[f], c2, *args[1:]]
        else:
            c2 = ch[f]
        m_ = nn.Sequential(*(m(*args) for _ in range(n))) if n > 1 else m(*args)  # module
        m_.i, m_.f, m_.type = i, f, m.__name__  # attach index, 'from' index, type
        save.extend(x % i for x in ([f] if isinstance(f, int) else f) if x != -1)  # append to savelist
        layers.append(m_)
        if i == 0:
            ch = []
        ch.append(c2)
    return nn.ModuleList(layers), sorted(save)


class DetectionModel(Module):
    """ultralytics DetectionModel / yolov5 Model: `model` holds the layers, wired by each layer's `f` (from)."""

    def __init__(self, cfg: Dict[str, Any], scale: str = "n", nc: int = 80, ch: int = 3) -> None:
        super().__init__()
        if scale not in cfg["scales"]:
            raise ConfigError(f"scale must be one of {'/'.join(cfg['scales'])}, got {scale!r}")
        require_int(nc, "nc (number of classes)", f"{type(self).__name__}")
        require_int(ch, "ch (input channels)", f"{type(self).__name__}")
        self.model, self.save = parse_model(cfg, scale, nc, ch)
        self.stride = self.model[-1].stride
        classify = isinstance(self.model[-1], Classify)  # ultralytics' ClassificationModel keeps BN eps 1e-5
        for m in self.modules():  # initialize_weights()
            if isinstance(m, nn.BatchNorm2d) and not classify:
                m.eps, m.momentum = 1e-3, 0.03

    def forward(self, x: Tensor) -> Tensor:
        y = []  # outputs
        for m in self.model:
            if m.f != -1:  # if not from previous layer
                x = y[m.f] if isinstance(m.f, int) else [x if j == -1 else y[j] for j in m.f]  # from earlier layers
            x = m(x)  # run
            y.append(x if m.i in self.save else None)  # save output
        return x


def yolov8(scale: str = "n", nc: int = 80) -> DetectionModel:
    """YOLOv8{scale} detection model; output [B, 4 + nc, A] (xywh pixels, class scores)."""
    return DetectionModel(YOLOV8, scale, nc)


def yolo11(scale: str = "n", nc: int = 80) -> DetectionModel:
    """YOLO11{scale} detection model; output [B, 4 + nc, A] (xywh pixels, class scores)."""
    return DetectionModel(YOLO11, scale, nc)


def yolov8_seg(scale: str = "n", nc: int = 80) -> DetectionModel:
    """YOLOv8{scale}-seg: outputs (pred [B, 4 + nc + 32, A], protos [B, 32, H/4, W/4])."""
    return DetectionModel(YOLOV8_SEG, scale, nc)


def yolo11_seg(scale: str = "n", nc: int = 80) -> DetectionModel:
    """YOLO11{scale}-seg: outputs (pred [B, 4 + nc + 32, A], protos [B, 32, H/4, W/4])."""
    return DetectionModel(YOLO11_SEG, scale, nc)


def yolov5(scale: str = "s", nc: int = 80) -> DetectionModel:
    """YOLOv5{scale} v7.0 detection model; output [B, N, 5 + nc] (cx, cy, w, h, obj, cls...)."""
    return DetectionModel(YOLOV5, scale, nc)


# ---- oriented boxes ----------------------------------------------------------------------------------------------
def yolov8_obb(scale: str = "n", nc: int = 80) -> DetectionModel:
    """YOLOv8{scale}-obb: output [B, 4 + nc + 1, A] (cx, cy, w, h pixels, class scores, angle in radians)."""
    return DetectionModel(YOLOV8_OBB, scale, nc)


def yolo11_obb(scale: str = "n", nc: int = 80) -> DetectionModel:
    """YOLO11{scale}-obb: output [B, 4 + nc + 1, A] (cx, cy, w, h pixels, class scores, angle in radians)."""
    return DetectionModel(YOLO11_OBB, scale, nc)


def yolo26(scale: str = "n", nc: int = 80) -> DetectionModel:
    """YOLO26{scale} detection model (NMS-free): output [B, 4 + nc, A] of the one-to-one branch (x1y1x2y2 pixels,
    class scores) for the top-k of trtnn.models.vision.topk; `model.model[-1].end2end = False` selects the one-to-many
    branch (xywh, for NMS)."""
    return DetectionModel(YOLO26, scale, nc)


def yolov10(scale: str = "n", nc: int = 80) -> DetectionModel:
    """YOLOv10{scale} (n/s/m/b/l/x) detection model (NMS-free): outputs as yolo26's."""
    if scale not in YOLOV10:
        raise ConfigError(f"scale must be one of {'/'.join(YOLOV10)}, got {scale!r}")
    return DetectionModel(YOLOV10[scale], scale, nc)


def yolo26_obb(scale: str = "n", nc: int = 80) -> DetectionModel:
    """YOLO26{scale}-obb (NMS-free): output [B, 4 + nc + 1, A] of the one-to-one branch (cx, cy, w, h pixels, class
    scores, raw angle in radians) for the top-k of trtnn.models.yolo.tasks.obb; `model.model[-1].end2end = False`
    selects the one-to-many branch (for rotated NMS)."""
    return DetectionModel(YOLO26_OBB, scale, nc)
# ---- pose and classify ------------------------------------------------------------------------------------------
def yolov8_pose(scale: str = "n", nc: int = 1, kpt_shape: Sequence[int] = (17, 3)) -> DetectionModel:
    """YOLOv8{scale}-pose: output [B, 4 + nc + K * D, A] (xywh, class scores, keypoints x, y[, visibility])."""
    return DetectionModel(pose_graph(YOLOV8, check_kpt_shape(kpt_shape, "yolov8_pose")), scale, nc)


def yolo11_pose(scale: str = "n", nc: int = 80, kpt_shape: Sequence[int] = (17, 3)) -> DetectionModel:
    """YOLO11{scale}-pose: output [B, 4 + nc + K * D, A] (xywh, class scores, keypoints x, y[, visibility])."""
    return DetectionModel(pose_graph(YOLO11, check_kpt_shape(kpt_shape, "yolo11_pose")), scale, nc)


def yolov8_cls(scale: str = "n", nc: int = 1000) -> DetectionModel:
    """YOLOv8{scale}-cls: output [B, nc] softmax class probabilities."""
    return DetectionModel(YOLOV8_CLS, scale, nc)


def yolo11_cls(scale: str = "n", nc: int = 1000) -> DetectionModel:
    """YOLO11{scale}-cls: output [B, nc] softmax class probabilities."""
    return DetectionModel(YOLO11_CLS, scale, nc)


def yolo26_pose(scale: str = "n", nc: int = 80, kpt_shape: Sequence[int] = (17, 3)) -> DetectionModel:
    """YOLO26{scale}-pose (NMS-free): output [B, 4 + nc + K * D, A] of the one-to-one branch (x1y1x2y2, class
    scores, keypoints x, y[, visibility]); `model.model[-1].end2end = False` selects the one-to-many branch (xywh)."""
    return DetectionModel(pose_graph(YOLO26, check_kpt_shape(kpt_shape, "yolo26_pose"), Pose26), scale, nc)


def yolo26_cls(scale: str = "n", nc: int = 1000) -> DetectionModel:
    """YOLO26{scale}-cls: output [B, nc] softmax class probabilities."""
    return DetectionModel(YOLO26_CLS, scale, nc)


def yolo26_seg(scale: str = "n", nc: int = 80) -> DetectionModel:
    """YOLO26{scale}-seg (NMS-free): outputs (pred [B, 4 + nc + 32, A] of the one-to-one branch (x1y1x2y2 pixels,
    class scores, 32 mask coefficients), protos [B, 32, H/4, W/4]) for the top-k of trtnn.models.yolo.tasks.segment;
    `model.model[-1].end2end = False` selects the one-to-many branch (xywh, for NMS)."""
    return DetectionModel(YOLO26_SEG, scale, nc)
