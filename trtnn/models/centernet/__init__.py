"""xingyizhou/CenterNet ctdet: the DLA-34 backbone (`backbones`), the networks (`model`: res_18 / res_101, DLA-34
with DCNv2, dlav0_34) and the detection end to end with its outputs and registration (`decode`)."""
from .backbones import DLA, dla34
from .decode import CTDET, CtdetEnd2End, ctdet_decode, ctdet_post_process
from .model import (DCN, DLASeg, DLASegV0, DeformConv, PoseResNet, centernet_dla34, centernet_dlav0_34,
                    centernet_resnet)
from ..vision.preprocess import COCO_MEAN, COCO_STD, ctdet_preprocess

__all__ = ["COCO_MEAN", "COCO_STD", "CTDET", "DCN", "DLA", "DLASeg", "DLASegV0", "DeformConv", "CtdetEnd2End",
           "PoseResNet", "centernet_dla34", "centernet_dlav0_34", "centernet_resnet",
           "ctdet_decode", "ctdet_post_process", "ctdet_preprocess", "dla34"]
