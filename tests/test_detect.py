"""trtnn.models.yolo.tasks.detect and trtnn.models.vision: in-engine preprocess, decode and greedy NMS against the
reference post-processing.

Networks run on the CPU reference executor; the expected detections come from tests/refmodels/detect_postprocess.py
(the originals' predict-time NMS with torchvision semantics and a stable order among equal scores).
"""
import pytest
import torch

import trtnn
import trtnn.functional as F
from harness import Fn
from refmodels import detect_postprocess as pp
from trtnn import backend
from trtnn.models.vision import NMS, OUTPUT_NAMES, Preprocess, letterbox_geometry, scale_boxes
from trtnn.models.yolo.tasks import End2End, decode_v5, decode_v8
from trtnn.reference import Executor
from trtnn.reference.common import HANDLERS


class DecodeNMS(trtnn.Module):
    """Raw YOLO prediction (+ conf_thres, iou_thres inputs) -> decode -> NMS."""

    def __init__(self, kind: str, **kw) -> None:
        super().__init__()
        self.kind = kind
        self.nms = NMS(**kw)

    def forward(self, pred, *thresholds):
        conf, iou = thresholds if thresholds else (None, None)
        if self.kind == "v8":
            boxes, scores = decode_v8(pred)
        else:
            boxes, scores = decode_v5(pred, self.nms.conf if conf is None else conf)
        return self.nms(boxes, scores, conf, iou)


def define(pred, kind="v8", runtime=False, **kw):
    inputs = [trtnn.Input("pred", tuple(pred.shape))]
    if runtime:
        inputs += [trtnn.Input("conf_thres", (1,)), trtnn.Input("iou_thres", ())]
    return trtnn.define(DecodeNMS(kind, **kw), inputs)


def run(pred, kind="v8", conf=0.25, iou=0.7, max_det=300, pre_nms_topk=1000):
    net = define(pred, kind, conf=conf, iou=iou, max_det=max_det, pre_nms_topk=pre_nms_topk)
    return Executor(net.network)({"pred": pred})


def reference(pred, kind="v8", conf=0.25, iou=0.7, max_det=300):
    fn = pp.v8_non_max_suppression if kind == "v8" else pp.v5_non_max_suppression
    return fn(pred, conf, iou, max_det)


def check(out, ref, max_det):
    """Same num_dets, boxes within 1e-3, same scores and classes in the same order, zero padding."""
    b = len(ref)
    assert out["num_dets"].shape == (b, 1) and out["num_dets"].dtype == torch.int32
    assert out["det_boxes"].shape == (b, max_det, 4) and out["det_boxes"].dtype == torch.float32
    assert out["det_scores"].shape == (b, max_det) and out["det_classes"].dtype == torch.int32
    for i, det in enumerate(ref):
        n = len(det.scores)
        assert out["num_dets"][i, 0].item() == n
        torch.testing.assert_close(out["det_boxes"][i, :n], det.boxes, atol=1e-3, rtol=0)
        torch.testing.assert_close(out["det_scores"][i, :n], det.scores, atol=1e-6, rtol=0)
        assert torch.equal(out["det_classes"][i, :n].long(), det.classes)
        for name in OUTPUT_NAMES[1:]:
            assert not out[name][i, n:].any(), f"{name} padding of image {i} is not zero"


def v8_pred(xyxy, scores):
    """[B, A, 4] x1y1x2y2 + [B, A, nc] scores -> raw v8 output [B, 4 + nc, A] (exact for integer corners)."""
    xywh = torch.cat([(xyxy[..., :2] + xyxy[..., 2:]) / 2, xyxy[..., 2:] - xyxy[..., :2]], -1)
    return torch.cat([xywh, scores], -1).transpose(1, 2).contiguous()


def clustered(b, a, nc, seed, objects=25, img=640):
    """Realistic raw v8 output: many jittered boxes around a few objects, scores highest near each object."""
    g = torch.Generator().manual_seed(seed)
    centre = torch.rand(b, objects, 2, generator=g) * img
    size = torch.rand(b, objects, 2, generator=g) * 150 + 8
    cls = torch.randint(0, nc, (b, objects), generator=g)
    pick = torch.randint(0, objects, (b, a), generator=g)
    take = lambda t: torch.gather(t, 1, pick.unsqueeze(-1).expand(b, a, t.shape[-1]))  # noqa: E731
    wh = take(size) * (1 + 0.25 * torch.randn(b, a, 2, generator=g)).clamp(min=0.2)
    xy = take(centre) + 0.15 * take(size) * torch.randn(b, a, 2, generator=g)
    scores = torch.rand(b, a, nc, generator=g) * 0.3
    hit = torch.rand(b, a, generator=g) * 0.7 + 0.1
    scores.scatter_(2, take(cls.unsqueeze(-1).float()).long(), hit.unsqueeze(-1))
    return torch.cat([xy, wh, scores], -1).transpose(1, 2).contiguous()


# ---- random box sets ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed,iou", [(0, 0.7), (1, 0.45), (2, 0.3)])
def test_random_v8(seed, iou):
    pred = clustered(2, 2000, 12, seed)
    check(run(pred, iou=iou, pre_nms_topk=2000), reference(pred, iou=iou), 300)


def test_random_v8_pre_nms_topk_smaller_than_candidates():
    pred = clustered(2, 3000, 5, seed=3, objects=200)
    ref = reference(pred, iou=0.5, max_det=50)
    assert all(len(d.scores) == 50 for d in ref)  # enough kept within the top 1000 for an exact result
    check(run(pred, iou=0.5, max_det=50, pre_nms_topk=1000), ref, 50)


@pytest.mark.parametrize("pre_nms_topk", [3840, 1200])
def test_random_v8_multi_label(pre_nms_topk):
    """Every (box, class) pair above conf is a candidate, as ultralytics' validator's NMS (multi_label=True)."""
    pred = clustered(2, 600, 4, seed=7, objects=30)
    ref = pp.v8_non_max_suppression(pred, 0.25, 0.6, 600, multi_label=True)
    single = pp.v8_non_max_suppression(pred, 0.25, 0.6, 600)
    assert all(len(m.scores) > len(s.scores) + 100 for m, s in zip(ref, single))  # several classes per box kept
    net = define(pred, conf=0.25, iou=0.6, max_det=600, pre_nms_topk=pre_nms_topk, multi_label=True)
    check(Executor(net.network)({"pred": pred}), ref, 600)


def test_random_v5():
    g = torch.Generator().manual_seed(4)
    xy, wh = torch.rand(2, 1500, 2, generator=g) * 320, torch.rand(2, 1500, 2, generator=g) * 60 + 4
    pred = torch.cat([xy, wh, torch.rand(2, 1500, 1 + 7, generator=g)], -1)
    ref = reference(pred, "v5", iou=0.45, max_det=1000)
    check(run(pred, "v5", iou=0.45, max_det=1000, pre_nms_topk=1500), ref, 1000)


def test_v5_conf_is_on_objectness_and_product():
    # rows: obj > conf but obj * cls <= conf; obj <= conf; obj * cls > conf (kept); tie between two classes
    boxes = torch.tensor([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10], [60, 0, 70, 10]], dtype=torch.float32)
    obj = torch.tensor([[0.5], [0.25], [0.9], [0.8]])
    cls = torch.tensor([[0.4, 0.2], [1.0, 1.0], [0.3, 0.6], [0.5, 0.5]])
    xywh = torch.cat([(boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]], -1)
    pred = torch.cat([xywh, obj, cls], -1)[None]
    ref = reference(pred, "v5", iou=0.45, max_det=10)
    assert len(ref[0].scores) == 2
    check(run(pred, "v5", iou=0.45, max_det=10), ref, 10)


# ---- adversarial box sets ------------------------------------------------------------------------------------
@pytest.fixture(params=["executor", "reversed"])
def topk_ties(request, monkeypatch):
    """Run with the executor's TopK, and with one that returns equal values in reverse index order:
    the NMS must not depend on how TopK orders ties (TensorRT does not specify it)."""
    if request.param == "reversed":
        cls, make = HANDLERS["TOPK"]

        def make_reversed(node):
            run_topk, axis = make(node), int(node.layer.axes).bit_length() - 1

            def run(x, k=None):
                values, idx = run_topk(x.flip(axis), k)
                return values, (x.shape[axis] - 1 - idx.long()).to(idx.dtype)
            return run
        monkeypatch.setitem(HANDLERS, "TOPK", (cls, make_reversed))
    return request.param


def test_equal_scores_keep_stable_order(topk_ties):
    g = torch.Generator().manual_seed(5)
    xy = torch.randint(0, 600, (2, 500, 2), generator=g).float()
    xyxy = torch.cat([xy, xy + torch.randint(4, 60, (2, 500, 2), generator=g)], -1)
    scores = torch.randint(0, 4, (2, 500, 3), generator=g).float() * 0.25 + 0.125  # ties across boxes and classes
    pred = v8_pred(xyxy, scores)
    check(run(pred, iou=0.5, max_det=300), reference(pred, iou=0.5, max_det=300), 300)


def test_ties_at_the_pre_nms_topk_boundary(topk_ties):
    # 400 disjoint boxes, 100 of them (the last by index) with the best score: the first 64 of those are taken
    xy = torch.stack(torch.meshgrid(torch.arange(20.0), torch.arange(20.0), indexing="ij"), -1).reshape(1, 400, 2) * 20
    xyxy = torch.cat([xy, xy + 10], -1)
    scores = torch.full((1, 400, 2), 0.5)
    scores[0, 300:, 1] = 0.9
    pred = v8_pred(xyxy, scores)
    check(run(pred, max_det=40, pre_nms_topk=64), reference(pred, max_det=40), 40)


def test_identical_boxes():
    box = torch.tensor([10.0, 20.0, 50.0, 80.0])
    xyxy = box.expand(1, 8, 4).clone()
    scores = torch.zeros(1, 8, 3)
    scores[0, :4, 0] = 0.6  # four copies, same class, same score: the first one survives
    scores[0, 4:6, 1] = torch.tensor([0.7, 0.8])  # two copies of another class: the better one survives
    scores[0, 6, 2], scores[0, 7, 2] = 0.9, 0.9
    pred = v8_pred(xyxy, scores)
    ref = reference(pred)
    assert ref[0].classes.tolist() == [2, 1, 0]
    check(run(pred), ref, 300)


def test_all_below_threshold():
    pred = clustered(2, 300, 4, seed=6)
    pred[:, 4:] *= 0.1
    out = run(pred, conf=0.25)
    assert out["num_dets"].tolist() == [[0], [0]]
    assert all(not out[name].any() for name in OUTPUT_NAMES)


def test_score_equal_to_conf_is_dropped():
    xyxy = torch.tensor([[[0.0, 0, 10, 10], [20, 0, 30, 10]]])
    pred = v8_pred(xyxy, torch.tensor([[[0.25], [0.5]]]))
    check(run(pred, conf=0.25), reference(pred, conf=0.25), 300)


@pytest.mark.parametrize("n,max_det", [(600, 100), (30, 300)])
def test_candidates_vs_max_det(n, max_det):
    g = torch.Generator().manual_seed(7)
    i = torch.arange(n, dtype=torch.float32)
    xy = torch.stack([i % 25, i // 25], -1)[None] * 20
    xyxy = torch.cat([xy, xy + 10], -1)  # disjoint
    pred = v8_pred(xyxy, torch.rand(1, n, 2, generator=g) * 0.7 + 0.3)
    check(run(pred, max_det=max_det), reference(pred, max_det=max_det), max_det)


def test_classes_do_not_suppress_each_other():
    xyxy = torch.tensor([[[100.0, 100, 200, 200]] * 4 + [[101.0, 100, 200, 200]]])
    scores = torch.zeros(1, 5, 4)
    scores[0, torch.arange(4), torch.arange(4)] = torch.tensor([0.9, 0.8, 0.7, 0.6])
    scores[0, 4, 3] = 0.95  # overlaps class 3's box (IoU 0.99): suppresses it
    pred = v8_pred(xyxy, scores)
    ref = reference(pred)
    assert ref[0].classes.tolist() == [3, 0, 1, 2]
    check(run(pred), ref, 300)


@pytest.mark.parametrize("cls", [0, 7])
def test_iou_exactly_at_threshold_is_not_suppressed(cls):
    # IoU(a, b) = 50 / 100 = 0.5 exactly; IoU(a, c) = 60 / 100 > 0.5 (c is suppressed, b is kept)
    xyxy = torch.tensor([[[0.0, 0, 10, 7.5], [0, 2.5, 10, 10], [0, 0, 10, 8]]])
    scores = torch.zeros(1, 3, 8)
    scores[0, :, cls] = torch.tensor([0.9, 0.8, 0.7])
    pred = v8_pred(xyxy, scores)
    ref = reference(pred, iou=0.5)
    assert ref[0].scores.tolist() == pytest.approx([0.9, 0.8])
    check(run(pred, iou=0.5), ref, 300)


def test_suppression_chain():
    # each box overlaps only its neighbours: greedy keeps every other one (deepest fixed-point iteration)
    n = 40
    x = torch.arange(n, dtype=torch.float32) * 6
    xyxy = torch.stack([x, torch.zeros(n), x + 10, torch.full((n,), 10.0)], -1)[None]
    pred = v8_pred(xyxy, torch.linspace(0.9, 0.5, n).reshape(1, n, 1))
    ref = reference(pred, iou=0.2)
    assert len(ref[0].scores) == n // 2
    check(run(pred, iou=0.2), ref, 300)


# ---- runtime thresholds -------------------------------------------------------------------------------------
def test_runtime_thresholds_match_build_time():
    pred = clustered(2, 1200, 6, seed=8)
    net = define(pred, runtime=True, max_det=200, pre_nms_topk=1200)  # keep net: it owns the weights
    ex = Executor(net.network)
    for conf, iou in [(0.25, 0.7), (0.5, 0.45), (0.1, 0.3)]:
        got = ex({"pred": pred, "conf_thres": torch.tensor([conf]), "iou_thres": torch.tensor(iou)})
        fixed = run(pred, conf=conf, iou=iou, max_det=200, pre_nms_topk=1200)
        for name in OUTPUT_NAMES:
            assert torch.equal(got[name], fixed[name]), name
        check(got, reference(pred, conf=conf, iou=iou, max_det=200), 200)


def test_runtime_conf_for_v5():
    g = torch.Generator().manual_seed(9)
    pred = torch.cat([torch.rand(1, 800, 2, generator=g) * 320, torch.rand(1, 800, 2, generator=g) * 50 + 4,
                      torch.rand(1, 800, 4, generator=g)], -1)
    net = define(pred, "v5", runtime=True, max_det=100)
    ex = Executor(net.network)
    for conf, iou in [(0.25, 0.45), (0.6, 0.6)]:
        got = ex({"pred": pred, "conf_thres": torch.tensor([conf]), "iou_thres": torch.tensor(iou)})
        check(got, reference(pred, "v5", conf=conf, iou=iou, max_det=100), 100)


# ---- preprocess and mapping back -------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
def test_preprocess(layout):
    g = torch.Generator().manual_seed(10)
    img = torch.randint(0, 256, (2, 24, 32, 3), generator=g, dtype=torch.uint8)  # BGR, NHWC
    x = img if layout == "NHWC" else img.permute(0, 3, 1, 2).contiguous()
    mean, std = [0.408, 0.447, 0.470], [0.289, 0.274, 0.278]
    rgb = img.flip(-1).permute(0, 3, 1, 2).float() / 255
    normalized = (rgb - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    for kw, want in [({}, rgb), ({"mean": mean, "std": std}, normalized)]:
        net = trtnn.define(Preprocess(layout, **kw), [trtnn.Input("images", tuple(x.shape), torch.uint8)])
        got = Executor(net.network)({"images": x})["output"]
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-6)


# Sizes whose scaled side is not whole (e.g. 777 * 640 / 333), ties of round() (721 * 0.5 = 360.5), both sides
# limiting, square, tiny and large originals.
ORIG_SIZES = [[480, 640], [1080, 1920], [777, 333], [721, 1280], [333, 517], [640, 640], [1, 7], [4000, 3001],
              [719, 1281], [101, 99]]


@pytest.mark.parametrize("yolov5", [False, True])
def test_scale_boxes(yolov5):
    g = torch.Generator().manual_seed(11)
    n = len(ORIG_SIZES)
    boxes = torch.rand(n, 20, 4, generator=g) * 640 - 20
    boxes[..., 2:] += boxes[..., :2]
    orig = torch.tensor(ORIG_SIZES, dtype=torch.int32)
    net = trtnn.define(Fn(lambda b, s: scale_boxes(b, s, (640, 640), yolov5)),
                       [trtnn.Input("boxes", (n, 20, 4)), trtnn.Input("orig_size", (n, 2), torch.int32)])
    got = Executor(net.network)({"boxes": boxes, "orig_size": orig})["output"]
    for i, (h, w) in enumerate(orig.tolist()):
        ratio_pad = None if yolov5 else pp.letterbox_ratio_pad((h, w), (640, 640))
        want = pp.scale_boxes((640, 640), boxes[i], (h, w), ratio_pad=ratio_pad, yolov5=yolov5)
        torch.testing.assert_close(got[i], want, atol=2e-3 * max(h, w) / 640, rtol=1e-6)


@pytest.mark.parametrize("input_hw", [(640, 640), (384, 640), (640, 320)])
def test_letterbox_geometry_and_scale_boxes_invert_the_letterbox_exactly(input_hw):
    """Points mapped forward through LetterBox (x * new_w / w0 + left) come back to themselves, for sizes where one
    gain min(h1 / h0, w1 / w0) would be off by up to a pixel."""
    orig = torch.tensor(ORIG_SIZES, dtype=torch.int32)
    n = len(ORIG_SIZES)
    net = trtnn.define(Fn(lambda s: F.cat(letterbox_geometry(s, input_hw), 1)),
                       [trtnn.Input("orig_size", (n, 2), torch.int32)])
    geometry = Executor(net.network)({"orig_size": orig})["output"]
    g = torch.Generator().manual_seed(5)
    pts = torch.rand(n, 8, 4, generator=g, dtype=torch.float64)
    pts[..., 2:] = torch.maximum(pts[..., :2], pts[..., 2:])
    fwd = torch.empty(n, 8, 4)
    for i, (h, w) in enumerate(ORIG_SIZES):
        _, _, (new_w, new_h), (top, _, left, _) = pp.letterbox_params((h, w), input_hw)
        assert geometry[i].tolist() == [new_h, new_w, top, left]
        pts[i] *= torch.tensor([w, h, w, h], dtype=torch.float64)
        fwd[i] = (pts[i] * torch.tensor([new_w / w, new_h / h] * 2, dtype=torch.float64)
                  + torch.tensor([left, top] * 2, dtype=torch.float64)).float()
    net = trtnn.define(Fn(lambda b, s: scale_boxes(b, s, input_hw)),
                       [trtnn.Input("boxes", (n, 8, 4)), trtnn.Input("orig_size", (n, 2), torch.int32)])
    back = Executor(net.network)({"boxes": fwd, "orig_size": orig})["output"]
    scale = torch.tensor([max(h, w) for h, w in ORIG_SIZES]).view(n, 1, 1)
    assert ((back.double() - pts).abs() / scale).max() < 1e-5


class TinyV8(trtnn.Module):
    """A stand-in raw v8 model: image [B, 3, 32, 32] -> [B, 4 + nc, 64] (one 4x4-patch conv, boxes in pixels)."""

    def __init__(self, nc: int = 3) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(12)
        self.weight = trtnn.Parameter(torch.randn(4 + nc, 3, 4, 4, generator=g) * 0.2)

    def forward(self, x):
        y = F.conv2d(x, self.weight, stride=4).flatten(2)
        return F.cat([F.sigmoid(y[:, :2]) * 32, F.sigmoid(y[:, 2:4]) * 12, F.sigmoid(y[:, 4:])], 1)


def test_engine_builds_without_nms_layer():
    e2e = End2End(TinyV8(), preprocess=Preprocess(), runtime_thresholds=True, scale_to_orig=True, max_det=20)
    net = trtnn.define(e2e, e2e.inputs((32, 32), batch=2))
    trt = backend.get()
    assert all(net.network.get_layer(i).type != trt.LayerType.NMS for i in range(net.network.num_layers))
    assert [o.name for o in net.outputs] == list(OUTPUT_NAMES)
    engine = trtnn.build_network(net)
    assert engine.nbytes > 0 and [o.name for o in engine.outputs] == list(OUTPUT_NAMES)


def test_end2end_tiny_model_matches_reference():
    e2e = End2End(TinyV8(), conf=0.3, iou=0.5, preprocess=Preprocess(), scale_to_orig=True, max_det=20)
    net = trtnn.define(e2e, e2e.inputs((32, 32), batch=2), debug_outputs=["model"])
    img = torch.randint(0, 256, (2, 32, 32, 3), generator=torch.Generator().manual_seed(13), dtype=torch.uint8)
    orig = torch.tensor([[48, 64], [64, 40]], dtype=torch.int32)
    got = Executor(net.network)({"images": img, "orig_size": orig})
    ref = reference(got[net.module_outputs["model"][0]], conf=0.3, iou=0.5, max_det=20)
    ref = [pp.Detections(pp.scale_boxes((32, 32), d.boxes, hw, pp.letterbox_ratio_pad(hw, (32, 32))), d.scores, d.classes)
           for d, hw in zip(ref, orig.tolist())]
    assert all(len(d.scores) > 0 for d in ref)
    check(got, ref, 20)


def test_end2end_yolov8n():
    from refmodels import randomize_bn, yolov8
    from trtnn.models import yolo

    torch_model = randomize_bn(yolov8("n", nc=80), seed=0).eval()
    model = yolo.yolov8("n", nc=80)
    model.load_state_dict(torch_model.state_dict())
    e2e = End2End(model, preprocess=Preprocess())
    net = trtnn.define(e2e, e2e.inputs((160, 160)), debug_outputs=["model"])
    img = torch.randint(0, 256, (1, 160, 160, 3), generator=torch.Generator().manual_seed(14), dtype=torch.uint8)
    got = Executor(net.network)({"images": img})
    with torch.no_grad():
        raw = torch_model(img.flip(-1).permute(0, 3, 1, 2).float() / 255)
    got_raw = got[net.module_outputs["model"][0]]
    torch.testing.assert_close(got_raw, raw, atol=1e-3, rtol=1e-3)  # the raw model, then NMS on its output
    ref = reference(got_raw, conf=0.25, iou=0.7, max_det=300)
    assert len(ref[0].scores) > 0
    check(got, ref, 300)
