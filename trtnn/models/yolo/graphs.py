"""The originals' model yaml files as Python: layer graphs ([from, repeats, module, args]) and scales.

ultralytics/cfg/models/v8/yolov8{,-seg}.yaml, ultralytics/cfg/models/11/yolo11{,-seg}.yaml, yolov5 v7.0
models/yolov5{s}.yaml.
"""
import math

from ... import nn
from .classify import Classify
from .common import C2PSA, SPPF, C2f, C3, C3k2, Concat, Conv, Detect, Segment, V5Detect
from .obb import OBB, OBB26
from .pose import Pose
from .segment26 import Segment26
from .v10 import PSA, SCDown, C2fCIB, v10Detect

UP = (nn.Upsample, [None, 2, "nearest"])

YOLOV8 = {
    "scales": {  # [depth, width, max_channels]
        "n": [0.33, 0.25, 1024], "s": [0.33, 0.50, 1024], "m": [0.67, 0.75, 768],
        "l": [1.00, 1.00, 512], "x": [1.00, 1.25, 512],
    },
    "backbone": [
        [-1, 1, Conv, [64, 3, 2]],  # 0-P1/2
        [-1, 1, Conv, [128, 3, 2]],  # 1-P2/4
        [-1, 3, C2f, [128, True]],
        [-1, 1, Conv, [256, 3, 2]],  # 3-P3/8
        [-1, 6, C2f, [256, True]],
        [-1, 1, Conv, [512, 3, 2]],  # 5-P4/16
        [-1, 6, C2f, [512, True]],
        [-1, 1, Conv, [1024, 3, 2]],  # 7-P5/32
        [-1, 3, C2f, [1024, True]],
        [-1, 1, SPPF, [1024, 5]],  # 9
    ],
    "head": [
        [-1, 1, *UP],
        [[-1, 6], 1, Concat, [1]],  # cat backbone P4
        [-1, 3, C2f, [512]],  # 12
        [-1, 1, *UP],
        [[-1, 4], 1, Concat, [1]],  # cat backbone P3
        [-1, 3, C2f, [256]],  # 15 (P3/8-small)
        [-1, 1, Conv, [256, 3, 2]],
        [[-1, 12], 1, Concat, [1]],  # cat head P4
        [-1, 3, C2f, [512]],  # 18 (P4/16-medium)
        [-1, 1, Conv, [512, 3, 2]],
        [[-1, 9], 1, Concat, [1]],  # cat head P5
        [-1, 3, C2f, [1024]],  # 21 (P5/32-large)
        [[15, 18, 21], 1, Detect, ["nc"]],  # Detect(P3, P4, P5)
    ],
}

YOLO11 = {
    "scales": {  # [depth, width, max_channels]
        "n": [0.50, 0.25, 1024], "s": [0.50, 0.50, 1024], "m": [0.50, 1.00, 512],
        "l": [1.00, 1.00, 512], "x": [1.00, 1.50, 512],
    },
    "backbone": [
        [-1, 1, Conv, [64, 3, 2]],  # 0-P1/2
        [-1, 1, Conv, [128, 3, 2]],  # 1-P2/4
        [-1, 2, C3k2, [256, False, 0.25]],
        [-1, 1, Conv, [256, 3, 2]],  # 3-P3/8
        [-1, 2, C3k2, [512, False, 0.25]],
        [-1, 1, Conv, [512, 3, 2]],  # 5-P4/16
        [-1, 2, C3k2, [512, True]],
        [-1, 1, Conv, [1024, 3, 2]],  # 7-P5/32
        [-1, 2, C3k2, [1024, True]],
        [-1, 1, SPPF, [1024, 5]],  # 9
        [-1, 2, C2PSA, [1024]],  # 10
    ],
    "head": [
        [-1, 1, *UP],
        [[-1, 6], 1, Concat, [1]],  # cat backbone P4
        [-1, 2, C3k2, [512, False]],  # 13
        [-1, 1, *UP],
        [[-1, 4], 1, Concat, [1]],  # cat backbone P3
        [-1, 2, C3k2, [256, False]],  # 16 (P3/8-small)
        [-1, 1, Conv, [256, 3, 2]],
        [[-1, 13], 1, Concat, [1]],  # cat head P4
        [-1, 2, C3k2, [512, False]],  # 19 (P4/16-medium)
        [-1, 1, Conv, [512, 3, 2]],
        [[-1, 10], 1, Concat, [1]],  # cat head P5
        [-1, 2, C3k2, [1024, True]],  # 22 (P5/32-large)
        [[16, 19, 22], 1, Detect, ["nc"]],  # Detect(P3, P4, P5)
    ],
}


def with_head(graph: dict, head: list) -> dict:
    """`graph` with its last layer (the Detect head) replaced: the -seg yaml files differ only there."""
    return {**graph, "head": graph["head"][:-1] + [head]}


YOLOV8_SEG = with_head(YOLOV8, [[15, 18, 21], 1, Segment, ["nc", 32, 256]])  # Segment(P3, P4, P5)
YOLO11_SEG = with_head(YOLO11, [[16, 19, 22], 1, Segment, ["nc", 32, 256]])

YOLOV5 = {
    "scales": {  # [depth_multiple, width_multiple, max_channels]: v5 has no channel cap
        "n": [0.33, 0.25, math.inf], "s": [0.33, 0.50, math.inf], "m": [0.67, 0.75, math.inf],
        "l": [1.00, 1.00, math.inf], "x": [1.33, 1.25, math.inf],
    },
    "anchors": [
        [10, 13, 16, 30, 33, 23],  # P3/8
        [30, 61, 62, 45, 59, 119],  # P4/16
        [116, 90, 156, 198, 373, 326],  # P5/32
    ],
    "backbone": [
        [-1, 1, Conv, [64, 6, 2, 2]],  # 0-P1/2
        [-1, 1, Conv, [128, 3, 2]],  # 1-P2/4
        [-1, 3, C3, [128]],
        [-1, 1, Conv, [256, 3, 2]],  # 3-P3/8
        [-1, 6, C3, [256]],
        [-1, 1, Conv, [512, 3, 2]],  # 5-P4/16
        [-1, 9, C3, [512]],
        [-1, 1, Conv, [1024, 3, 2]],  # 7-P5/32
        [-1, 3, C3, [1024]],
        [-1, 1, SPPF, [1024, 5]],  # 9
    ],
    "head": [
        [-1, 1, Conv, [512, 1, 1]],
        [-1, 1, *UP],
        [[-1, 6], 1, Concat, [1]],  # cat backbone P4
        [-1, 3, C3, [512, False]],  # 13
        [-1, 1, Conv, [256, 1, 1]],
        [-1, 1, *UP],
        [[-1, 4], 1, Concat, [1]],  # cat backbone P3
        [-1, 3, C3, [256, False]],  # 17 (P3/8-small)
        [-1, 1, Conv, [256, 3, 2]],
        [[-1, 14], 1, Concat, [1]],  # cat head P4
        [-1, 3, C3, [512, False]],  # 20 (P4/16-medium)
        [-1, 1, Conv, [512, 3, 2]],
        [[-1, 10], 1, Concat, [1]],  # cat head P5
        [-1, 3, C3, [1024, False]],  # 23 (P5/32-large)
        [[17, 20, 23], 1, V5Detect, ["nc", "anchors"]],  # Detect(P3, P4, P5)
    ],
}


# ---- oriented boxes: ultralytics/cfg/models/v8/yolov8-obb.yaml, 11/yolo11-obb.yaml (8.4: one angle channel) ----

YOLOV8_OBB = with_head(YOLOV8, [[15, 18, 21], 1, OBB, ["nc", 1]])  # OBB(P3, P4, P5)
YOLO11_OBB = with_head(YOLO11, [[16, 19, 22], 1, OBB, ["nc", 1]])


# ---- YOLO26 and YOLOv10 (ultralytics 8.4: cfg/models/26/yolo26.yaml, cfg/models/v10/yolov10{n,s,m,b,l,x}.yaml) ----

YOLO26 = {  # end2end: the head holds the one-to-one branch; reg_max 1: no DFL
    "end2end": True, "reg_max": 1,
    "scales": YOLO11["scales"],
    "backbone": YOLO11["backbone"][:9] + [  # yolo26.yaml's backbone is yolo11.yaml's but for SPPF's arguments
        [-1, 1, SPPF, [1024, 5, 3, True, False]],  # 9 (act=False: 8.4 builds cv1 without SiLU)
        [-1, 2, C2PSA, [1024]],  # 10
    ],
    "head": [
        [-1, 1, *UP],
        [[-1, 6], 1, Concat, [1]],  # cat backbone P4
        [-1, 2, C3k2, [512, True]],  # 13
        [-1, 1, *UP],
        [[-1, 4], 1, Concat, [1]],  # cat backbone P3
        [-1, 2, C3k2, [256, True]],  # 16 (P3/8-small)
        [-1, 1, Conv, [256, 3, 2]],
        [[-1, 13], 1, Concat, [1]],  # cat head P4
        [-1, 2, C3k2, [512, True]],  # 19 (P4/16-medium)
        [-1, 1, Conv, [512, 3, 2]],
        [[-1, 10], 1, Concat, [1]],  # cat head P5
        [-1, 1, C3k2, [1024, True, 0.5, True]],  # 22 (P5/32-large), attention blocks
        [[16, 19, 22], 1, Detect, ["nc"]],  # Detect(P3, P4, P5)
    ],
}


def _yolov10(scale: str, gains: list, l6: tuple, l8: tuple, l13: tuple, l19: tuple, l22: tuple) -> dict:
    """yolov10{scale}.yaml: one file per scale; they differ in layers 6, 8, 13, 19 and 22 ((module, args) each:
    C2f or C2fCIB, and C2fCIB's large-kernel flag)."""
    return {
        "scales": {scale: gains},
        "backbone": [
            [-1, 1, Conv, [64, 3, 2]],  # 0-P1/2
            [-1, 1, Conv, [128, 3, 2]],  # 1-P2/4
            [-1, 3, C2f, [128, True]],
            [-1, 1, Conv, [256, 3, 2]],  # 3-P3/8
            [-1, 6, C2f, [256, True]],
            [-1, 1, SCDown, [512, 3, 2]],  # 5-P4/16
            [-1, 6, *l6],
            [-1, 1, SCDown, [1024, 3, 2]],  # 7-P5/32
            [-1, 3, *l8],
            [-1, 1, SPPF, [1024, 5]],  # 9
            [-1, 1, PSA, [1024]],  # 10
        ],
        "head": [
            [-1, 1, *UP],
            [[-1, 6], 1, Concat, [1]],  # cat backbone P4
            [-1, 3, *l13],  # 13
            [-1, 1, *UP],
            [[-1, 4], 1, Concat, [1]],  # cat backbone P3
            [-1, 3, C2f, [256]],  # 16 (P3/8-small)
            [-1, 1, Conv, [256, 3, 2]],
            [[-1, 13], 1, Concat, [1]],  # cat head P4
            [-1, 3, *l19],  # 19 (P4/16-medium)
            [-1, 1, SCDown, [512, 3, 2]],
            [[-1, 10], 1, Concat, [1]],  # cat head P5
            [-1, 3, *l22],  # 22 (P5/32-large)
            [[16, 19, 22], 1, v10Detect, ["nc"]],  # Detect(P3, P4, P5)
        ],
    }


_C2F_512, _C2F_512S, _CIB_512 = (C2f, [512]), (C2f, [512, True]), (C2fCIB, [512, True])
_C2F_1024S, _CIB_1024, _CIB_1024_LK = (C2f, [1024, True]), (C2fCIB, [1024, True]), (C2fCIB, [1024, True, True])
YOLOV10 = {  # scale -> graph (layers 6, 8, 13, 19, 22)
    "n": _yolov10("n", [0.33, 0.25, 1024], _C2F_512S, _C2F_1024S, _C2F_512, _C2F_512, _CIB_1024_LK),
    "s": _yolov10("s", [0.33, 0.50, 1024], _C2F_512S, _CIB_1024_LK, _C2F_512, _C2F_512, _CIB_1024_LK),
    "m": _yolov10("m", [0.67, 0.75, 768], _C2F_512S, _CIB_1024, _C2F_512, _CIB_512, _CIB_1024),
    "b": _yolov10("b", [0.67, 1.00, 512], _C2F_512S, _CIB_1024, _CIB_512, _CIB_512, _CIB_1024),
    "l": _yolov10("l", [1.00, 1.00, 512], _C2F_512S, _CIB_1024, _CIB_512, _CIB_512, _CIB_1024),
    "x": _yolov10("x", [1.00, 1.25, 512], _CIB_512, _CIB_1024, _CIB_512, _CIB_512, _CIB_1024),
}


# ---- YOLO26 oriented boxes: ultralytics/cfg/models/26/yolo26-obb.yaml -------------------------------------------

YOLO26_OBB = with_head(YOLO26, [[16, 19, 22], 1, OBB26, ["nc", 1]])  # OBB26(P3, P4, P5)


# ---- pose and classify (ultralytics/cfg/models/{v8,11}/*-pose.yaml, *-cls.yaml) ----------------------------------
def pose_graph(graph: dict, kpt_shape, head=Pose) -> dict:
    """The -pose yaml of a detection graph: its Detect head replaced by `head` (Pose; YOLO26: Pose26)(nc,
    kpt_shape) on the same inputs."""
    return with_head(graph, [graph["head"][-1][0], 1, head, ["nc", tuple(kpt_shape)]])


YOLOV8_CLS = {
    "scales": {  # [depth, width, max_channels]: no 768 / 512 channel caps, unlike yolov8.yaml
        "n": [0.33, 0.25, 1024], "s": [0.33, 0.50, 1024], "m": [0.67, 0.75, 1024],
        "l": [1.00, 1.00, 1024], "x": [1.00, 1.25, 1024],
    },
    "backbone": YOLOV8["backbone"][:9],  # up to the P5/32 C2f, no SPPF
    "head": [[-1, 1, Classify, ["nc"]]],
}
YOLO11_CLS = {
    "scales": YOLO11["scales"],
    "backbone": YOLO11["backbone"][:9] + [[-1, 2, C2PSA, [1024]]],  # 9: C2PSA right after the P5 C3k2, no SPPF
    "head": [[-1, 1, Classify, ["nc"]]],
}
YOLO26_CLS = YOLO11_CLS  # yolo26-cls.yaml: the same graph and scales as yolo11-cls.yaml
YOLO26_SEG = with_head(YOLO26, [[16, 19, 22], 1, Segment26, ["nc", 32, 256]])  # yolo26-seg.yaml: Segment26(P3, P4, P5)
