"""The shipped families' specs: how each reads its configuration off a state_dict and is wrapped end to end."""
from __future__ import annotations

import re
from functools import partial
from typing import Any, Dict, Optional

from ..errors import ConfigError
from .centernet import centernet_dla34, centernet_dlav0_34, centernet_resnet
from .classify_e2e import ClassifyEnd2End, ClassifyPreprocess
from .ctdet import CtdetEnd2End, ctdet_preprocess
from .detect import End2End, Preprocess
from .pose_e2e import PoseEnd2End, PoseTopKEnd2End
from .registry import ModelSpec, StateDict, numel, register
from .rotated import OBBEnd2End, OBBTopKEnd2End
from .segment import SEG_END2END_DEFAULTS, seg_end2end
from .topk import TopKEnd2End
from .unet import UNet
from .yolo import (yolo11, yolo11_cls, yolo11_obb, yolo11_pose, yolo11_seg, yolo26, yolo26_cls, yolo26_obb,
                   yolo26_pose, yolov5, yolov8, yolov8_cls, yolov8_obb, yolov8_pose, yolov8_seg, yolov10)


def _first(state: StateDict, pattern: str) -> Optional[str]:
    return next((k for k in state if re.fullmatch(pattern, k)), None)


# ---- YOLO ---------------------------------------------------------------------------------------------------
def _yolov8_config(state: StateDict) -> Dict[str, Any]:
    """nc = channels of the first class branch's last conv (its bias, else its weight's rows)."""
    key = _first(state, r"model\.\d+\.cv3\.0\.2\.bias")
    if key:
        return {"nc": numel(state, key)}
    key = _first(state, r"model\.\d+\.cv3\.0\.2\.weight")
    return {"nc": int(state[key].shape[0])} if key and state[key].ndim == 4 else {}


def _yolov5_config(state: StateDict) -> Dict[str, Any]:
    """nc = outputs per anchor - 5, read off the first detection conv (anchors per level from the anchors buffer)."""
    key = _first(state, r"model\.\d+\.m\.0\.bias")
    if key is None:
        return {}
    head = key[: -len(".m.0.bias")]
    levels = sum(1 for k in state if re.fullmatch(re.escape(head) + r"\.m\.\d+\.bias", k))
    anchors = numel(state, f"{head}.anchors")
    na = anchors // (2 * levels) if anchors else 3
    return {"nc": numel(state, key) // na - 5}


def _yolo_end2end(kind: str, model: Any, o: Dict[str, Any]) -> End2End:
    pre = Preprocess(o["layout"], bgr=o["bgr"]) if o["layout"] else None
    return End2End(model, kind, conf=o["conf"], iou=o["iou"], max_det=o["max_det"], preprocess=pre,
                   runtime_thresholds=o["runtime_thresholds"], scale_to_orig=o["scale_to_orig"],
                   pre_nms_topk=o["pre_nms_topk"])


def _with_nc(kwargs: Dict[str, Any], nc: int) -> Dict[str, Any]:
    return {**kwargs, "nc": nc}


for _family, _factory, _kind, _iou, _max_det in (("yolov8", yolov8, "v8", 0.7, 300), ("yolo11", yolo11, "v8", 0.7, 300),
                                                 ("yolov5", yolov5, "v5", 0.45, 1000)):
    register(ModelSpec(
        family=_family, variants={f"{_family}{s}": partial(_factory, s) for s in "nsmlx"},
        config_from_state_dict=_yolov5_config if _kind == "v5" else _yolov8_config, with_classes=_with_nc,
        imgsz=(640, 640), input_name="images", stride=32, end2end=partial(_yolo_end2end, _kind),
        end2end_defaults={"conf": 0.25, "iou": _iou, "max_det": _max_det, "pre_nms_topk": 1000}))


for _family, _factory in (("yolov8", yolov8_seg), ("yolo11", yolo11_seg)):
    register(ModelSpec(  # raw outputs (pred [B, 4 + nc + 32, A], protos); end to end: detections + masks
        family=f"{_family}-seg", task="segment",
        variants={f"{_family}{s}-seg": partial(_factory, s) for s in "nsmlx"},
        config_from_state_dict=_yolov8_config, with_classes=_with_nc, imgsz=(640, 640), input_name="images",
        stride=32, end2end=seg_end2end, end2end_defaults={**SEG_END2END_DEFAULTS}))


# ---- UNet ---------------------------------------------------------------------------------------------------
def _unet_config(state: StateDict) -> Dict[str, Any]:
    """n_classes = outc's outputs; n_channels = the first conv's weights / (its BatchNorm's channels * 3 * 3)."""
    out: Dict[str, Any] = {}
    if "outc.conv.bias" in state:
        out["n_classes"] = numel(state, "outc.conv.bias")
    first, bn = numel(state, "inc.double_conv.0.weight"), numel(state, "inc.double_conv.1.weight")
    if first and bn:
        out["n_channels"] = first // (bn * 9)
    return out


register(ModelSpec(
    family="unet", task="semantic-segment", preprocess="unet",
    variants={"unet": partial(UNet, n_channels=3, n_classes=2, bilinear=False),
                             "unet_bilinear": partial(UNet, n_channels=3, n_classes=2, bilinear=True)},
    config_from_state_dict=_unet_config, with_classes=lambda kw, nc: {**kw, "n_classes": nc}, imgsz=(572, 572),
    in_channels=lambda model: model.n_channels, mask=lambda kw: {**kw, "output": "mask"}))


# ---- CenterNet ----------------------------------------------------------------------------------------------
def _centernet_config(state: StateDict) -> Dict[str, Any]:
    """heads {'hm': classes, 'wh': 2, 'reg': 2} from each head's last bias; head_conv from hm's first bias."""
    heads = {h: numel(state, f"{h}.2.bias") for h in ("hm", "wh", "reg") if f"{h}.2.bias" in state}
    out: Dict[str, Any] = {"heads": heads} if heads else {}
    if "hm.0.bias" in state:
        out["head_conv"] = numel(state, "hm.0.bias")
    return out


def _centernet_classes(kwargs: Dict[str, Any], nc: int) -> Dict[str, Any]:
    heads = dict(kwargs.get("heads") or {"hm": 0, "wh": 2, "reg": 2})
    heads["hm"] = nc  # in hm's place: the first output
    return {**kwargs, "heads": heads}


def _ctdet_end2end(model: Any, o: Dict[str, Any]) -> CtdetEnd2End:
    return CtdetEnd2End(model, K=o["max_det"], conf=o["conf"],
                        preprocess=ctdet_preprocess(o["layout"], o["bgr"]) if o["layout"] else None,
                        runtime_thresholds=o["runtime_thresholds"], scale_to_orig=o["scale_to_orig"])


register(ModelSpec(
    family="centernet", preprocess="centernet", variants={"centernet_res18": partial(centernet_resnet, 18),
                                  "centernet_res101": partial(centernet_resnet, 101),
                                  "centernet_dla34": centernet_dla34, "centernet_dlav0_34": centernet_dlav0_34},
    config_from_state_dict=_centernet_config, with_classes=_centernet_classes, imgsz=(512, 512), stride=32,
    end2end=_ctdet_end2end, end2end_defaults={"conf": 0.3, "max_det": 100},
    end2end_note="--iou and --pre-nms-topk are for YOLO models: CenterNet keeps 3x3 heatmap peaks, no NMS",
    unused_keys=("base.fc.weight", "base.fc.bias")))  # DLA's ImageNet classifier, saved by CenterNet's training


# ---- YOLO oriented boxes (OBB) -------------------------------------------------------------------------------


def _obb_end2end(model: Any, o: Dict[str, Any]) -> OBBEnd2End:
    pre = Preprocess(o["layout"], bgr=o["bgr"]) if o["layout"] else None
    return OBBEnd2End(model, conf=o["conf"], iou=o["iou"], max_det=o["max_det"], preprocess=pre,
                      runtime_thresholds=o["runtime_thresholds"], scale_to_orig=o["scale_to_orig"],
                      pre_nms_topk=o["pre_nms_topk"])


for _family, _factory in (("yolov8", yolov8_obb), ("yolo11", yolo11_obb)):
    register(ModelSpec(  # raw output [B, 4 + nc + 1, A]; end to end: rotated NMS by probabilistic IoU
        family=f"{_family}-obb", task="obb",
        variants={f"{_family}{s}-obb": partial(_factory, s) for s in "nsmlx"},
        config_from_state_dict=_yolov8_config, with_classes=_with_nc, imgsz=(640, 640), input_name="images",
        stride=32, end2end=_obb_end2end,
        end2end_defaults={"conf": 0.25, "iou": 0.7, "max_det": 300, "pre_nms_topk": 1000}))


# ---- YOLO26 and YOLOv10 (NMS-free) --------------------------------------------------------------------------


def _nms_free_end2end(model: Any, o: Dict[str, Any]) -> Any:
    """--head one2one (default): ultralytics' end2end top-k on the one-to-one branch; one2many: that branch + NMS."""
    if o["head"] == "one2many":
        model.model[-1].end2end = False
        return _yolo_end2end("v8", model, o)
    return TopKEnd2End(model, conf=o["conf"], max_det=o["max_det"],
                       preprocess=Preprocess(o["layout"], bgr=o["bgr"]) if o["layout"] else None,
                       runtime_thresholds=o["runtime_thresholds"], scale_to_orig=o["scale_to_orig"])


for _family, _factory, _scales in (("yolo26", yolo26, "nsmlx"), ("yolov10", yolov10, "nsmblx")):
    register(ModelSpec(
        family=_family, variants={f"{_family}{s}": partial(_factory, s) for s in _scales},
        config_from_state_dict=_yolov8_config, with_classes=_with_nc, imgsz=(640, 640), input_name="images",
        stride=32, end2end=_nms_free_end2end,
        end2end_defaults={"conf": 0.25, "iou": 0.7, "max_det": 300, "pre_nms_topk": 1000, "head": "one2one"}))


# ---- YOLO26 oriented boxes (NMS-free) -----------------------------------------------------------------------


def _obb26_end2end(model: Any, o: Dict[str, Any]) -> Any:
    """--head one2one (default): the one-to-one branch and ultralytics' top-k; one2many: that branch + rotated NMS."""
    if o["head"] == "one2many":
        model.model[-1].end2end = False
        return _obb_end2end(model, o)
    return OBBTopKEnd2End(model, conf=o["conf"], max_det=o["max_det"],
                          preprocess=Preprocess(o["layout"], bgr=o["bgr"]) if o["layout"] else None,
                          runtime_thresholds=o["runtime_thresholds"], scale_to_orig=o["scale_to_orig"])


register(ModelSpec(  # raw output [B, 4 + nc + 1, A] of the one-to-one branch
    family="yolo26-obb", task="obb",
    variants={f"yolo26{s}-obb": partial(yolo26_obb, s) for s in "nsmlx"},
    config_from_state_dict=_yolov8_config, with_classes=_with_nc, imgsz=(640, 640), input_name="images", stride=32,
    end2end=_obb26_end2end,
    end2end_defaults={"conf": 0.25, "iou": 0.7, "max_det": 300, "pre_nms_topk": 1000, "head": "one2one"}))


# ---- YOLO pose and classify ---------------------------------------------------------------------------------------


def _pose_config(state: StateDict) -> Dict[str, Any]:
    """nc as detection; kpt_shape (K, D) from the keypoint outputs K * D: YOLO26 has K from its 2K sigmas
    (cv4_sigma); v8 / YOLO11 only K * D (cv4's last conv), read as D = 3 (x, y, visibility) when it divides by 3,
    else 2 (give kpt_shape explicitly for a (K, 2) model whose 2K divides by 3)."""
    out = _yolov8_config(state)
    kpts, sigma = (_first(state, rf"model\.\d+\.{b}\.0\.bias") for b in ("cv4_kpts", "cv4_sigma"))
    key = kpts or _first(state, r"model\.\d+\.cv4\.0\.2\.bias")
    if key:
        nk = numel(state, key)
        k = numel(state, sigma) // 2 if sigma else nk // 3 if nk % 3 == 0 else nk // 2
        out["kpt_shape"] = (k, nk // k)
    return out


def _cls_config(state: StateDict) -> Dict[str, Any]:
    """nc = rows of the Classify head's Linear (its bias)."""
    key = _first(state, r"model\.\d+\.linear\.bias")
    return {"nc": numel(state, key)} if key else {}


def _pose_end2end(model: Any, o: Dict[str, Any]) -> PoseEnd2End:
    pre = Preprocess(o["layout"], bgr=o["bgr"]) if o["layout"] else None
    return PoseEnd2End(model, model.model[-1].kpt_shape, conf=o["conf"], iou=o["iou"], max_det=o["max_det"],
                       preprocess=pre, runtime_thresholds=o["runtime_thresholds"],
                       scale_to_orig=o["scale_to_orig"], pre_nms_topk=o["pre_nms_topk"])


def _cls_end2end(model: Any, o: Dict[str, Any]) -> ClassifyEnd2End:
    if o["runtime_thresholds"] or o["scale_to_orig"]:
        raise ConfigError("--runtime-thresholds and --orig-size are for detection engines: a classification engine "
                          "has no thresholds and no boxes to map back")
    if o["src_size"] and not o["layout"]:
        raise ConfigError("--src-size resizes uint8 images in the engine: add --preprocess")
    src = o["src_size"]
    pre = ClassifyPreprocess(o["layout"], o["bgr"], src, o["imgsz"] if src else None) if o["layout"] else None
    return ClassifyEnd2End(model, pre)


for _family, _factory in (("yolov8", yolov8_pose), ("yolo11", yolo11_pose)):
    register(ModelSpec(
        family=f"{_family}-pose", task="pose",
        variants={f"{_family}{s}-pose": partial(_factory, s) for s in "nsmlx"},
        config_from_state_dict=_pose_config, with_classes=_with_nc, imgsz=(640, 640), input_name="images",
        stride=32, end2end=_pose_end2end,
        end2end_defaults={"conf": 0.25, "iou": 0.7, "max_det": 300, "pre_nms_topk": 1000}))

for _family, _factory in (("yolov8", yolov8_cls), ("yolo11", yolo11_cls), ("yolo26", yolo26_cls)):
    register(ModelSpec(
        family=f"{_family}-cls", task="classify", preprocess="classify",
        variants={f"{_family}{s}-cls": partial(_factory, s) for s in "nsmlx"},
        config_from_state_dict=_cls_config, with_classes=_with_nc, imgsz=(224, 224), input_name="images",
        stride=32, end2end=_cls_end2end, end2end_defaults={"src_size": None},
        end2end_note="classification engines output all class probabilities and the top 5: no --conf, --iou, "
                     "--max-det, --pre-nms-topk or --orig-size"))


def _pose26_end2end(model: Any, o: Dict[str, Any]) -> Any:
    """--head one2one (default): the one-to-one branch and ultralytics' top-k; one2many: the other branch + NMS."""
    if o["head"] == "one2many":
        model.model[-1].end2end = False
        return _pose_end2end(model, o)
    return PoseTopKEnd2End(model, model.model[-1].kpt_shape, conf=o["conf"], max_det=o["max_det"],
                           preprocess=Preprocess(o["layout"], bgr=o["bgr"]) if o["layout"] else None,
                           runtime_thresholds=o["runtime_thresholds"], scale_to_orig=o["scale_to_orig"])


register(ModelSpec(
    family="yolo26-pose", task="pose",
    variants={f"yolo26{s}-pose": partial(yolo26_pose, s) for s in "nsmlx"},
    config_from_state_dict=_pose_config, with_classes=_with_nc, imgsz=(640, 640), input_name="images", stride=32,
    end2end=_pose26_end2end,
    end2end_defaults={"conf": 0.25, "iou": 0.7, "max_det": 300, "pre_nms_topk": 1000, "head": "one2one"}))


# ---- YOLO26 segmentation (NMS-free) -------------------------------------------------------------------------------
from .segment_topk import seg26_end2end  # noqa: E402
from .yolo import yolo26_seg  # noqa: E402

register(ModelSpec(  # raw outputs (pred [B, 4 + nc + 32, A] of the one-to-one branch, protos); end to end: + masks
    family="yolo26-seg", task="segment",
    variants={f"yolo26{s}-seg": partial(yolo26_seg, s) for s in "nsmlx"},
    config_from_state_dict=_yolov8_config, with_classes=_with_nc, imgsz=(640, 640), input_name="images", stride=32,
    end2end=seg26_end2end, end2end_defaults={**SEG_END2END_DEFAULTS, "head": "one2one"}))
