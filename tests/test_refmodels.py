"""Checks of the PyTorch reference models in tests/refmodels against the originals' facts.

Keys/shapes come from tests/data/keys/*.keys (the original projects' state_dicts), parameter counts from MODELS.md
(YOLO11 s/m/l/x from the summary comments in ultralytics' yolo11.yaml). Big scales are
built on the meta device (no memory, no forward).
"""

import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).parent))  # tests/ may or may not become a package

from refmodels import randomize_bn, unet, yolo11, yolo11_seg, yolov5, yolov8, yolov8_seg  # noqa: E402
from refmodels import detect_postprocess as pp  # noqa: E402
from harness import parse_keys  # noqa: E402


BUILDERS = {
    "unet": lambda: unet(3, 2, bilinear=False),
    "unet_bilinear": lambda: unet(3, 2, bilinear=True),
    "yolov8n": lambda: yolov8("n"),
    "yolo11n": lambda: yolo11("n"),
    "yolov5s": lambda: yolov5("s"),
    "yolov8n-seg": lambda: yolov8_seg("n"),
    "yolo11n-seg": lambda: yolo11_seg("n"),
}


def build_meta(fn):
    with torch.device("meta"):
        return fn()


# ---------------------------------------------------------------------------------- (a) keys


@pytest.mark.parametrize("name", list(BUILDERS))
def test_state_dict_keys_and_shapes(name):
    model = build_meta(BUILDERS[name])
    got = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    assert got == parse_keys(name)


# ---------------------------------------------------------------------------------- (b) params

PARAMS = {  # sum of numel over model.parameters(): includes DFL conv (16), excludes the v5 anchors buffer
    ("yolov8", "n"): 3_157_200, ("yolov8", "s"): 11_166_560, ("yolov8", "m"): 25_902_640,
    ("yolov8", "l"): 43_691_520, ("yolov8", "x"): 68_229_648,
    ("yolo11", "n"): 2_624_080,  # MODELS.md
    ("yolo11", "s"): 9_458_752, ("yolo11", "m"): 20_114_688,  # yolo11.yaml summary comments
    ("yolo11", "l"): 25_372_160, ("yolo11", "x"): 56_966_176,
    ("yolov5", "n"): 1_872_157, ("yolov5", "s"): 7_235_389, ("yolov5", "m"): 21_190_557,
    ("yolov5", "l"): 46_563_709, ("yolov5", "x"): 86_749_405,
    ("unet", False): 31_037_698, ("unet", True): 17_263_042,
    ("yolov8-seg", "n"): 3_409_968, ("yolo11-seg", "n"): 2_876_848,  # MODELS.md
}
FACTORIES = {"yolov8": yolov8, "yolo11": yolo11, "yolov5": yolov5, "unet": lambda b: unet(3, 2, bilinear=b),
             "yolov8-seg": yolov8_seg, "yolo11-seg": yolo11_seg}


@pytest.mark.parametrize("family,scale", list(PARAMS))
def test_param_count(family, scale):
    model = build_meta(lambda: FACTORIES[family](scale))
    assert sum(p.numel() for p in model.parameters()) == PARAMS[family, scale]


def test_bn_settings_and_dfl():
    m = yolo11("n")
    bns = [b for b in m.modules() if isinstance(b, nn.BatchNorm2d)]
    assert bns and all(b.eps == 1e-3 and b.momentum == 0.03 for b in bns)
    assert all(b.eps == 1e-5 for b in unet().modules() if isinstance(b, nn.BatchNorm2d))
    assert torch.equal(m.model[-1].dfl.conv.weight.view(-1), torch.arange(16.0))
    a = yolov5("s").model[-1].anchors
    assert torch.allclose(a[0] * 8, torch.tensor([[10.0, 13], [16, 30], [33, 23]]))
    assert torch.allclose(a[2] * 32, torch.tensor([[116.0, 90], [156, 198], [373, 326]]))


def test_randomize_bn():
    m = randomize_bn(yolov8("n"), seed=1)
    for b in (b for b in m.modules() if isinstance(b, nn.BatchNorm2d)):
        assert 0.5 <= b.running_var.min() and b.running_var.max() <= 2.0
        assert b.running_mean.abs().sum() > 0 and not torch.all(b.weight == 1)
    m2 = randomize_bn(yolov8("n"), seed=1)
    assert torch.equal(m.model[0].bn.running_var, m2.model[0].bn.running_var)


# ---------------------------------------------------------------------------------- (c) outputs


@pytest.mark.parametrize("fn", [yolov8, yolo11])
@pytest.mark.parametrize("hw,anchors", [((640, 640), 8400), ((480, 640), 6300)])
def test_v8_v11_output_shape(fn, hw, anchors):
    torch.manual_seed(0)
    with torch.no_grad():
        y = randomize_bn(fn("n"), 0)(torch.rand(1, 3, *hw))
    assert y.shape == (1, 84, anchors)
    assert torch.isfinite(y).all() and ((y[:, 4:] > 0) & (y[:, 4:] < 1)).all()


def test_v5_output_shape():
    with torch.no_grad():
        y = yolov5("s")(torch.rand(1, 3, 640, 640))
    assert y.shape == (1, 25200, 85)


@pytest.mark.parametrize("bilinear", [False, True])
def test_unet_odd_size(bilinear):
    with torch.no_grad():
        y = unet(3, 2, bilinear)(torch.rand(1, 3, 75, 100))  # W=100, H=75
    assert y.shape == (1, 2, 75, 100)


def _raw_head_maps(model, x):
    """Run the model with only the Detect layer in training mode (BNs stay in eval) -> raw maps per level, [B, 4 *
    reg_max + nc, h, w] (8.4's Detect trains on a dict of level-concatenated boxes and scores; v5 on the maps)."""
    det = model.model[-1]
    det.training = True
    try:
        preds = model(x)
    finally:
        det.training = False
    if isinstance(preds, list):
        return preds
    raw = torch.cat((preds["boxes"], preds["scores"]), 1)
    sizes = [f.shape[2:] for f in preds["feats"]]
    return [r.reshape(*r.shape[:2], *hw) for r, hw in zip(raw.split([h * w for h, w in sizes], 2), sizes)]


@pytest.mark.parametrize("fn", [yolov8, yolo11])
def test_v8_decode_matches_independent_decode(fn):
    """Non-square input: checks level order, anchor (x, y) order, +0.5 offset, DFL, stride scaling."""
    model = randomize_bn(fn("n", nc=3), 2)
    x = torch.rand(2, 3, 96, 160)
    with torch.no_grad():
        y = model(x)
        raw = _raw_head_maps(model, x)
    outs = []
    for lvl, stride in zip(raw, (8, 16, 32)):
        b, _, h, w = lvl.shape
        assert (h, w) == (96 // stride, 160 // stride)
        dist = (lvl[:, :64].reshape(b, 4, 16, h, w).softmax(2) * torch.arange(16.0).view(1, 1, 16, 1, 1)).sum(2)
        ax = torch.arange(w).view(1, w).expand(h, w) + 0.5
        ay = torch.arange(h).view(h, 1).expand(h, w) + 0.5
        x1, y1, x2, y2 = ax - dist[:, 0], ay - dist[:, 1], ax + dist[:, 2], ay + dist[:, 3]
        box = torch.stack(((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1), 1) * stride
        outs.append(torch.cat((box, lvl[:, 64:].sigmoid()), 1).reshape(b, 7, h * w))
    torch.testing.assert_close(y, torch.cat(outs, 2), rtol=1e-5, atol=1e-4)


def test_v5_decode_matches_independent_decode():
    model = randomize_bn(yolov5("n", nc=2), 3)
    x = torch.rand(1, 3, 64, 96)
    anchors_px = torch.tensor([[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119], [116, 90, 156, 198, 373, 326]])
    with torch.no_grad():
        y = model(x)
        raw = _raw_head_maps(model, x)  # [B, na, h, w, 5 + nc] per level
    outs = []
    for i, (lvl, stride) in enumerate(zip(raw, (8, 16, 32))):
        b, na, h, w, no = lvl.shape
        s = lvl.sigmoid()
        gx = torch.arange(w).view(1, 1, 1, w)
        gy = torch.arange(h).view(1, 1, h, 1)
        cx = (s[..., 0] * 2 - 0.5 + gx) * stride
        cy = (s[..., 1] * 2 - 0.5 + gy) * stride
        aw = anchors_px[i, 0::2].view(1, na, 1, 1)
        ah = anchors_px[i, 1::2].view(1, na, 1, 1)
        bw, bh = (s[..., 2] * 2) ** 2 * aw, (s[..., 3] * 2) ** 2 * ah
        outs.append(torch.cat((torch.stack((cx, cy, bw, bh), -1), s[..., 4:]), -1).reshape(b, -1, no))
    torch.testing.assert_close(y, torch.cat(outs, 1), rtol=1e-5, atol=1e-4)


# ---------------------------------------------------------------------------------- (d) NMS


def test_nms_hand_case():
    boxes = torch.tensor(
        [
            [0.0, 0, 10, 10],  # 0  0.9  class 0
            [1.0, 1, 11, 11],  # 1  0.8  class 0, IoU with 0 = 81/119 = 0.681
            [1.0, 1, 11, 11],  # 2  0.85 class 1 -> other class, never suppressed by 0
            [20.0, 20, 30, 30],  # 3  0.7  class 0, disjoint
            [0.0, 0, 10, 10],  # 4  0.9  class 0, tie with 0 -> 0 first (stable), 4 suppressed (IoU 1)
        ]
    )
    scores = torch.tensor([0.9, 0.8, 0.85, 0.7, 0.9])
    classes = torch.tensor([0, 0, 1, 0, 0])
    assert pp.batched_nms(boxes, scores, classes, 0.5).tolist() == [0, 2, 3]
    assert pp.batched_nms(boxes, scores, classes, 0.7).tolist() == [0, 2, 1, 3]
    assert pp.batched_nms(boxes, scores, classes, 0.5, agnostic=True).tolist() == [0, 3]
    # IoU exactly at the threshold is kept (suppression needs IoU > thr): 50 / 100 = 0.5
    half = torch.tensor([[0.0, 0, 10, 10], [0.0, 0, 10, 5]])
    assert pp.nms(half, torch.tensor([0.9, 0.8]), 0.5).tolist() == [0, 1]
    assert pp.nms(half, torch.tensor([0.9, 0.8]), 0.49).tolist() == [0]
    assert pp.nms(torch.zeros(0, 4), torch.zeros(0), 0.5).numel() == 0


def test_v8_nms_end_to_end():
    # [1, 4 + nc, A] with nc = 2: xywh then class scores
    xywh = torch.tensor([[5.0, 5, 10, 10], [6, 6, 10, 10], [25, 25, 10, 10], [5, 5, 10, 10], [50, 50, 4, 4]])
    cls = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.3, 0.6], [0.1, 0.95], [0.2, 0.24]])
    pred = torch.cat((xywh, cls), 1).T[None]
    (det,) = pp.v8_non_max_suppression(pred, conf_thres=0.25, iou_thres=0.5)
    # box 1 suppressed by box 0 (same class, IoU 0.68); box 3 is class 1 so survives; box 4 below conf
    assert det.scores.tolist() == pytest.approx([0.95, 0.9, 0.6])
    assert det.classes.tolist() == [1, 0, 1]
    assert det.boxes.tolist() == [[0.0, 0, 10, 10], [0, 0, 10, 10], [20, 20, 30, 30]]
    (det,) = pp.v8_non_max_suppression(pred, conf_thres=0.25, iou_thres=0.5, max_det=2)
    assert det.classes.tolist() == [1, 0]


def test_v5_nms_end_to_end():
    # (cx, cy, w, h, obj, c0, c1); score = obj * best cls
    rows = torch.tensor(
        [
            [5.0, 5, 10, 10, 0.9, 0.9, 0.1],  # 0.81 class 0
            [6.0, 6, 10, 10, 0.9, 0.8, 0.1],  # 0.72 class 0, suppressed by row 0 at iou 0.45
            [25.0, 25, 10, 10, 0.2, 0.1, 1.0],  # obj 0.2 <= conf -> dropped before scoring
            [25.0, 25, 10, 10, 0.5, 0.4, 0.45],  # 0.225 <= conf -> dropped (best class only)
            [40.0, 40, 10, 10, 0.6, 0.1, 0.7],  # 0.42 class 1
        ]
    )
    (det,) = pp.v5_non_max_suppression(rows[None], conf_thres=0.25, iou_thres=0.45)
    assert det.scores.tolist() == pytest.approx([0.81, 0.42])
    assert det.classes.tolist() == [0, 1]
    assert det.boxes.tolist() == [[0.0, 0, 10, 10], [35, 35, 45, 45]]


def test_letterbox_and_scale_boxes():
    r, (dw, dh), unpad, border = pp.letterbox_params((300, 500), 640)
    assert (r, dw, dh, unpad, border) == (1.28, 0.0, 128.0, (640, 384), (128, 128, 0, 0))
    box = torch.tensor([[64.0, 192, 640, 700]])
    out = pp.scale_boxes((640, 640), box, (300, 500))
    torch.testing.assert_close(out, torch.tensor([[50.0, 50, 500, 300]]))  # y2 (446.9) clipped to h
    assert box.tolist() == [[64.0, 192, 640, 700]]  # input untouched
    # odd height: border top 127 / bottom 128; ultralytics rounds the pad (127), yolov5 keeps 127.36
    assert pp.letterbox_params((301, 500), 640)[3] == (127, 128, 0, 0)
    b = torch.tensor([[0.0, 127.36, 10, 200]])
    torch.testing.assert_close(pp.scale_boxes((640, 640), b, (301, 500))[0, 1], torch.tensor(0.36 / 1.28))
    y1_v5 = pp.scale_boxes((640, 640), b, (301, 500), yolov5=True)[0, 1]
    torch.testing.assert_close(y1_v5, torch.tensor(0.0), atol=1e-4, rtol=0)
    # what the validator passes: the rounded resize's own x and y factors (385 / 301 != 1.28) and the borders
    assert pp.letterbox_ratio_pad((301, 500), (640, 640)) == ((385 / 301, 1.28), (0, 127))
    y2 = pp.scale_boxes((640, 640), b, (301, 500), ratio_pad=pp.letterbox_ratio_pad((301, 500), (640, 640)))[0, 3]
    torch.testing.assert_close(y2, torch.tensor(73 * 301 / 385))
