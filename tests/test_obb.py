"""Oriented boxes (OBB): the heads against the references in tests/refmodels (keys, parameter counts, raw outputs on
the CPU executor within 1e-5), probabilistic IoU against a hand computation, rotated NMS / regularization / mapping
to the original images against tests/refmodels/obb_postprocess.py, and engines built with TensorRT-RTX."""
import math

import numpy as np
import pytest
import torch

import trtnn
import trtnn.functional as F
from harness import Fn, parse_keys, rel_err
from refmodels import obb_postprocess as pp
from refmodels import randomize_bn
from refmodels import yolo as ref
from refmodels.detect_postprocess import letterbox_ratio_pad
from trtnn import cli
from trtnn.models import get
from trtnn.models.vision import Preprocess
from trtnn.models.yolo.tasks import OBBEnd2End, OBBTopKEnd2End, RotatedNMS, batch_probiou, decode_obb, regularize_rboxes
from trtnn.models.yolo import yolo11_obb, yolo26_obb, yolov8_obb
from trtnn.reference import Executor

PAIRS = {"yolov8n-obb": (ref.yolov8_obb, yolov8_obb), "yolo11n-obb": (ref.yolo11_obb, yolo11_obb),
         "yolo26n-obb": (ref.yolo26_obb, yolo26_obb)}
PARAMS = {  # MODELS.md (n); s/m/l/x from the summary comments of ultralytics' yolo11-obb.yaml and yolo26-obb.yaml
    ("yolov8", "n"): 3_228_867, ("yolo11", "n"): 2_695_747, ("yolo11", "s"): 9_744_931, ("yolo11", "m"): 20_963_523,
    ("yolo11", "l"): 26_220_995, ("yolo11", "x"): 58_875_331, ("yolo26", "n"): 2_715_614, ("yolo26", "s"): 10_582_142,
    ("yolo26", "m"): 23_593_918, ("yolo26", "l"): 27_997_374, ("yolo26", "x"): 62_811_678,
}


# ---- heads -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(PAIRS))
def test_keys_equal_the_originals(name):
    make_ref, make = PAIRS[name]
    with torch.device("meta"):
        want = [(k, tuple(v.shape)) for k, v in make_ref("n").state_dict().items()]
    assert want == parse_keys(name)
    model = make("n")
    model.load_state_dict(randomize_bn(make_ref("n"), 1).state_dict(), strict=True)
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == want


@pytest.mark.parametrize("family,scale", list(PARAMS))
def test_param_counts(family, scale):
    assert sum(p.numel() for p in get(f"{family}{scale}-obb")().parameters()) == PARAMS[family, scale]
    with torch.device("meta"):
        r = getattr(ref, f"{family}_obb")(scale)
    assert sum(p.numel() for p in r.parameters()) == PARAMS[family, scale]


@pytest.mark.parametrize("name,nc,shape,one2one", [
    ("yolov8n-obb", 3, (2, 3, 64, 96), False), ("yolo11n-obb", 80, (1, 3, 64, 64), False),
    ("yolo26n-obb", 3, (2, 3, 64, 96), True), ("yolo26n-obb", 3, (1, 3, 96, 64), False)],
    ids=["yolov8n-obb", "yolo11n-obb", "yolo26n-obb-one2one", "yolo26n-obb-one2many"])
def test_raw_outputs(name, nc, shape, one2one):
    """[B, 4 + nc + 1, A]: rotated xywh (pixels), class scores, angle; each part within 1e-5 of the reference (YOLO26:
    either branch; its angle is the raw branch output)."""
    make_ref, make = PAIRS[name]
    torch.manual_seed(0)
    r = randomize_bn(make_ref("n", nc), 1)
    model = make("n", nc)
    model.load_state_dict(r.state_dict(), strict=True)
    if name.startswith("yolo26"):
        r.model[-1].end2end = model.model[-1].end2end = one2one
    x = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    (got,) = Executor(trtnn.define(model, [trtnn.Input("images", shape)]).network)({"images": x}).values()
    with torch.no_grad():
        want = r(x)
    h, w = shape[2:]
    assert got.shape == want.shape == (shape[0], 4 + nc + 1, sum((h // s) * (w // s) for s in (8, 16, 32)))
    for part in (slice(0, 4), slice(4, 4 + nc), slice(4 + nc, None)):
        assert rel_err(got[:, part], want[:, part]) <= 1e-5
    angle = want[:, -1]
    assert angle.std() > 0.01
    if not name.startswith("yolo26"):
        assert angle.min() >= -math.pi / 4 and angle.max() < 3 * math.pi / 4


# ---- probabilistic IoU ---------------------------------------------------------------------------------------
def run(fn, *inputs):
    """fn(*trtnn tensors) defined as a network over float32 inputs x0, x1, ... and run on the CPU executor."""
    specs = [trtnn.Input(f"x{i}", tuple(t.shape), t.dtype) for i, t in enumerate(inputs)]
    net = trtnn.define(Fn(fn), specs)
    return Executor(net.network)({f"x{i}": t for i, t in enumerate(inputs)})


def bhattacharyya_probiou(b1, b2, eps=1e-7):
    """probiou from the 2-D Gaussians' definition in float64: B = dmu^T S^-1 dmu / 8 + ln(det S / sqrt(det S1 det
    S2)) / 2 with S = (S1 + S2) / 2, probiou = 1 - sqrt(1 - exp(-B) + eps)."""
    def sigma(b):
        rot = np.array([[math.cos(b[4]), -math.sin(b[4])], [math.sin(b[4]), math.cos(b[4])]])
        return rot @ np.diag([b[2] ** 2 / 12, b[3] ** 2 / 12]) @ rot.T
    s1, s2 = sigma(b1), sigma(b2)
    s = (s1 + s2) / 2
    d = np.array(b1[:2]) - np.array(b2[:2])
    dets = np.linalg.det(s), np.linalg.det(s1), np.linalg.det(s2)
    bd = d @ np.linalg.inv(s) @ d / 8 + 0.5 * math.log(dets[0] / math.sqrt(dets[1] * dets[2]))
    return 1 - math.sqrt(1 - math.exp(-min(max(bd, eps), 100.0)) + eps)


def test_probiou_hand_computation():
    boxes = [(50.0, 50, 12, 12, 0.0), (56.0, 50, 12, 12, 0.0),  # same squares 6 px apart: B = 36 * 24 / 576 / 4
             (50.0, 50, 30, 10, 0.3), (55.0, 47, 20, 14, 1.2),  # rotated, overlapping
             (50.0, 50, 10, 30, 0.3 + math.pi / 2),  # box 2 with w, h swapped and turned a quarter: the same box
             (300.0, 50, 30, 10, 0.3)]  # far away
    t = torch.tensor(boxes).unsqueeze(0)
    (got,) = run(lambda a: batch_probiou(a, a), t).values()
    want = torch.tensor([[bhattacharyya_probiou(a, b) for b in boxes] for a in boxes], dtype=torch.float64)
    same = torch.eye(6, dtype=torch.bool)
    same[2, 4] = same[4, 2] = True  # coincident boxes: fp32's 1 - exp(-1e-7) is 1.19e-7, not 1e-7 (2e-5 off)
    err = (got[0].double() - want).abs()
    assert got.shape == (1, 6, 6) and err[~same].max() < 5e-7 and err[same].max() < 5e-5
    assert got[0, 0, 1].item() == pytest.approx(1 - math.sqrt(1 - math.exp(-0.375)), abs=1e-6)  # 0.440794
    assert got[0, 2, 4].item() == pytest.approx(got[0, 2, 2].item(), abs=1e-6) and got[0, 2, 2] > 0.999
    assert 0.2 < got[0, 2, 3] < 0.8 and got[0, 2, 5].item() == pytest.approx(0.0, abs=1e-6)
    torch.testing.assert_close(got[0], pp.batch_probiou(t[0], t[0]), rtol=0, atol=1e-6)  # the reference agrees


# ---- rotated NMS ---------------------------------------------------------------------------------------------------
def pred_from(rboxes, scores):
    """An OBB export output [1, 4 + nc + 1, A] from rboxes [A, 5] and class scores [A, nc]."""
    return torch.cat([rboxes[:, :4], scores, rboxes[:, 4:]], 1).T.unsqueeze(0).contiguous()


def run_nms(pred, runtime=None, **kw):
    """RotatedNMS(**kw) on decode_obb(pred) in a network; runtime=(conf, iou) feeds the thresholds as inputs."""
    nms = RotatedNMS(**kw)
    if runtime is None:
        return run(lambda p: nms(*decode_obb(p)), pred)
    return run(lambda p, c, i: nms(*decode_obb(p), c, i), pred, torch.tensor([runtime[0]]), torch.tensor([runtime[1]]))


def check_equal(out, dets, max_det):
    """Engine outputs equal the reference's per-image detections (in order); rows past num_dets are zero."""
    assert out["det_boxes"].shape[1:] == (max_det, 5) and out["num_dets"].dtype == torch.int32
    for b, d in enumerate(dets):
        n = int(out["num_dets"][b, 0])
        assert n == len(d.scores)
        torch.testing.assert_close(out["det_boxes"][b, :n], d.rboxes, rtol=0, atol=0)
        torch.testing.assert_close(out["det_scores"][b, :n], d.scores, rtol=0, atol=0)
        assert out["det_classes"][b, :n].tolist() == d.classes.tolist()
        assert not out["det_boxes"][b, n:].any() and not out["det_scores"][b, n:].any()
        assert not out["det_classes"][b, n:].any()


def random_pred(batch, n, nc, seed):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(batch, n, 2, generator=g) * 120
    wh = torch.rand(batch, n, 2, generator=g) * 35 + 5
    angle = torch.rand(batch, n, 1, generator=g) * math.pi - math.pi / 4
    scores = torch.rand(batch, n, nc, generator=g) ** 2
    return torch.cat([xy, wh, scores, angle], 2).transpose(1, 2).contiguous()


@pytest.mark.parametrize("kw", [dict(conf=0.3, iou=0.3), dict(conf=0.2, iou=0.5, agnostic=True),
                                dict(conf=0.4, iou=0.2, multi_label=True), dict(conf=0.1, iou=0.4, max_det=7)],
                         ids=["class-aware", "agnostic", "multi-label", "max_det-7"])
def test_nms_equals_reference(kw):
    pred = random_pred(2, 300, 3, seed=1)
    out = run_nms(pred, **kw)
    dets = pp.obb_non_max_suppression(pred, kw["conf"], kw["iou"], kw.get("max_det", 300), kw.get("agnostic", False),
                                      kw.get("multi_label", False))
    assert min(len(d.scores) for d in dets) >= 5  # real suppression work, not a trivial case
    check_equal(out, dets, kw.get("max_det", 300))


def test_nms_runtime_thresholds_and_pre_nms_topk():
    pred = random_pred(2, 300, 2, seed=2)
    out = run_nms(pred, runtime=(0.5, 0.25), conf=0.9, iou=0.9, max_det=20, pre_nms_topk=60)
    dets = pp.obb_non_max_suppression(pred, 0.5, 0.25, 20)
    assert all(len(d.scores) == 20 for d in dets)  # the 60 best hold 20 kept boxes: exact
    check_equal(out, dets, 20)


def test_probiou_exactly_at_the_threshold_suppresses():
    """Fast-NMS suppresses at probiou >= iou (torchvision-style NMS needs >): at the pair's own probiou, box 1 goes;
    one float step above it, box 1 stays."""
    rboxes = torch.tensor([[40.0, 40, 30, 12, 0.4], [46.0, 43, 26, 14, 0.9]])
    pred = pred_from(rboxes, torch.tensor([[0.9], [0.8]]))
    p = pp.batch_probiou(rboxes, rboxes)[0, 1]
    assert 0.1 < p < 0.9
    above = float(torch.nextafter(p, torch.tensor(1.0)))
    for thr, kept in ((float(p), 1), (above, 2)):
        assert len(pp.obb_non_max_suppression(pred, 0.25, thr)[0].scores) == kept
        for out in (run_nms(pred, conf=0.25, iou=thr), run_nms(pred, runtime=(0.25, thr))):
            assert int(out["num_dets"]) == kept
            check_equal(out, pp.obb_non_max_suppression(pred, 0.25, thr), 300)


def test_fast_nms_suppressed_boxes_still_suppress():
    """A > B > C in score; A suppresses B, B overlaps C, A does not: greedy NMS keeps C, Fast-NMS drops it."""
    rboxes = torch.tensor([[20.0, 20, 20, 10, 0.0], [26.0, 20, 20, 10, 0.0], [32.0, 20, 20, 10, 0.0]])
    p = pp.batch_probiou(rboxes, rboxes)
    assert p[0, 1] > 0.5 and p[1, 2] > 0.5 and p[0, 2] < 0.5
    pred = pred_from(rboxes, torch.tensor([[0.9], [0.8], [0.7]]))
    out = run_nms(pred, conf=0.25, iou=0.5)
    assert int(out["num_dets"]) == 1 and out["det_scores"][0, 0].item() == pytest.approx(0.9)
    check_equal(out, pp.obb_non_max_suppression(pred, 0.25, 0.5), 300)


def test_ties_empty_images_and_more_candidates_than_max_det():
    far = torch.tensor([[30.0 * i + 10, 10, 8, 4, 0.1 * i] for i in range(10)])
    scores = torch.tensor([[0.5], [0.9], [0.3], [0.9], [0.6], [0.7], [0.9], [0.4], [0.8], [0.55]])
    twin = far.clone()
    twin[3] = twin[1]  # box 3 = box 1, same score: the lower index is kept
    preds = torch.cat([pred_from(twin, scores), pred_from(far, scores * 0.2)])  # image 1: nothing above conf
    out = run_nms(preds, conf=0.25, iou=0.5, max_det=4)
    dets = pp.obb_non_max_suppression(preds, 0.25, 0.5, 4)
    check_equal(out, dets, 4)
    assert out["num_dets"].tolist() == [[4], [0]]
    torch.testing.assert_close(out["det_boxes"][0, :2], torch.stack([far[1], far[6]]))  # 0.9 (1 before its twin 3), 0.9
    assert out["det_scores"][0].tolist() == pytest.approx([0.9, 0.9, 0.8, 0.7])
    assert not out["det_boxes"][1].any()


def test_equal_scores_keep_the_input_order():
    """60 boxes of one score in twins (box 2k + 1 = box 2k): the first of each twin is kept, in input order."""
    grid = torch.tensor([[20.0 * (i // 2 % 10) + 10, 20.0 * (i // 20) + 10, 8, 4, 0.3] for i in range(60)])
    pred = pred_from(grid, torch.full((60, 1), 0.5))
    out = run_nms(pred, conf=0.25, iou=0.5, max_det=10)
    check_equal(out, pp.obb_non_max_suppression(pred, 0.25, 0.5, 10), 10)
    torch.testing.assert_close(out["det_boxes"][0], grid[0:20:2])


def test_iou_zero_keeps_nothing():
    """ultralytics compares the zeroed lower triangle too: with iou 0 every column has a hit."""
    pred = pred_from(torch.tensor([[10.0, 10, 5, 5, 0], [90, 90, 5, 5, 0]]), torch.tensor([[0.9], [0.8]]))
    assert len(pp.obb_non_max_suppression(pred, 0.25, 0.0)[0].scores) == 0
    assert int(run_nms(pred, conf=0.25, iou=0.0)["num_dets"]) == 0


# ---- regularized angles, the original image, end to end -------------------------------------------------------------
def test_regularize_rboxes():
    t = torch.cat([torch.linspace(-math.pi / 4, 3 * math.pi / 4, 201)[:-1],
                   torch.tensor([0.0, math.pi / 2, -math.pi / 4, math.pi / 2 - 1e-6, math.pi])])
    rboxes = torch.stack([torch.full_like(t, 5), torch.full_like(t, 6), torch.full_like(t, 30), torch.full_like(t, 10),
                          t], -1).unsqueeze(0)
    (got,) = run(regularize_rboxes, rboxes).values()
    want = pp.regularize_rboxes(rboxes)
    assert torch.equal(got, want)
    assert got[..., 4].min() >= 0 and got[..., 4].max() < math.pi / 2
    swapped = (t % math.pi) >= math.pi / 2
    assert swapped.any() and torch.equal(got[0, swapped, 2], rboxes[0, swapped, 3])


class FixedPrediction(trtnn.Module):
    """A stand-in OBB model whose output is a given [B, 4 + nc + 1, A] tensor (tied to the images input)."""

    def __init__(self, pred):
        super().__init__()
        self.pred = pred

    def forward(self, x):
        return F.constant(self.pred, x) + F.amax(x, (1, 2, 3), keepdim=True).reshape(-1, 1, 1) * 0


def test_scale_to_orig_and_regularized_output():
    pred = random_pred(2, 200, 2, seed=3) * torch.tensor([0.5, 0.5, 1, 1, 1, 1, 1]).view(1, 7, 1)  # inside 64x64
    orig = torch.tensor([[301, 500], [480, 200]], dtype=torch.int32)
    e2e = OBBEnd2End(FixedPrediction(pred), conf=0.3, iou=0.4, scale_to_orig=True)
    out = Executor(trtnn.define(e2e, e2e.inputs((64, 64), batch=2)).network)(
        {"images": torch.rand(2, 3, 64, 64), "orig_size": orig})
    dets = pp.obb_non_max_suppression(pred, 0.3, 0.4)
    for b, d in enumerate(dets):
        n = int(out["num_dets"][b])
        assert n == len(d.scores) >= 5
        want = pp.scale_rboxes(pp.regularize_rboxes(d.rboxes), letterbox_ratio_pad(tuple(orig[b].tolist()), (64, 64)))
        torch.testing.assert_close(out["det_boxes"][b, :n], want, rtol=1e-6, atol=1e-5)
        assert out["det_classes"][b, :n].tolist() == d.classes.tolist() and not out["det_boxes"][b, n:].any()
    assert (out["det_boxes"][0, :, 0] > 400).any() or (out["det_boxes"][0, :, 2] > 400).any()  # gain 500 / 64


def test_model_end_to_end_uint8_dynamic_batch():
    """yolov8n-obb (random weights, nc 2): uint8 BGR NHWC in, dynamic batch, runtime thresholds, orig sizes; equal to
    the reference model + its NMS, regularization and mapping."""
    torch.manual_seed(0)
    r = randomize_bn(ref.yolov8_obb("n", 2), 4)
    head = r.model[-1]
    with torch.no_grad():  # spread angles and scores, boxes of ~30 px: suppression among varied rotated boxes
        for i in range(head.nl):
            head.cv4[i][2].weight.mul_(40)
            head.cv3[i][2].weight.mul_(8)
            head.cv2[i][2].bias.copy_(-0.5 * torch.arange(16.0).repeat(4))
    model = yolov8_obb("n", 2)
    model.load_state_dict(r.state_dict(), strict=True)
    e2e = OBBEnd2End(model, preprocess=Preprocess("NHWC", bgr=True), runtime_thresholds=True, scale_to_orig=True)
    net = trtnn.define(e2e, e2e.inputs((64, 96), max_batch=3))
    # seed 5 gave pairs of equal-score rotated boxes whose suppression flipped with the CPU's rounding (15 vs 16 kept)
    images = torch.randint(0, 256, (2, 64, 96, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(6))
    orig = torch.tensor([[120, 200], [64, 96]], dtype=torch.int32)
    out = Executor(net.network)({"images": images, "conf_thres": torch.tensor([0.4]),
                                 "iou_thres": torch.tensor([0.5]), "orig_size": orig})
    with torch.no_grad():
        raw = r(images.flip(-1).permute(0, 3, 1, 2).float() / 255)
    dets = pp.obb_non_max_suppression(raw, 0.4, 0.5)
    candidates = (raw[:, 4:6].amax(1) > 0.4).sum(1)
    assert out["det_boxes"].shape == (2, 300, 5) and all(10 <= len(d.scores) < c for d, c in zip(dets, candidates))
    for b, d in enumerate(dets):
        n = int(out["num_dets"][b])
        assert n == len(d.scores)
        want = pp.scale_rboxes(pp.regularize_rboxes(d.rboxes), letterbox_ratio_pad(tuple(orig[b].tolist()), (64, 96)))
        torch.testing.assert_close(out["det_boxes"][b, :n], want, rtol=1e-4, atol=1e-3)
        torch.testing.assert_close(out["det_scores"][b, :n], d.scores, rtol=1e-5, atol=1e-6)
        assert out["det_classes"][b, :n].tolist() == d.classes.tolist()


def test_yolo26_obb_top_k_end_to_end():
    """yolo26n-obb's default end to end: the one-to-one branch, ultralytics' OBB.postprocess top-k, the rows scoring
    > conf, regularized and mapped back; as the reference's. All 126 anchors enter the top-k (max_det 300), so equal
    scores (many, with random weights) can only permute rows: rows are matched by class, score and box."""
    torch.manual_seed(0)
    r = randomize_bn(ref.yolo26_obb("n", 3), 6)
    head = r.model[-1]
    with torch.no_grad():  # varied angles, scores and boxes of ~20 px
        for i in range(head.nl):
            for branch in ("", "one2one_"):
                getattr(head, branch + "cv4")[i][2].weight.mul_(40)
                getattr(head, branch + "cv3")[i][2].weight.mul_(8)
                getattr(head, branch + "cv2")[i][2].bias.add_(1.0)
    model = yolo26_obb("n", 3)
    model.load_state_dict(r.state_dict(), strict=True)
    e2e = OBBTopKEnd2End(model, conf=0.79, runtime_thresholds=True, scale_to_orig=True)
    x = torch.rand(2, 3, 64, 96, generator=torch.Generator().manual_seed(7))
    orig = torch.tensor([[300, 400], [64, 96]], dtype=torch.int32)
    out = Executor(trtnn.define(e2e, e2e.inputs((64, 96), batch=2)).network)(
        {"images": x, "conf_thres": torch.tensor([0.8]), "orig_size": orig})
    with torch.no_grad():
        top = head.postprocess(r(x).permute(0, 2, 1))  # [B, 126, 7]: x, y, w, h, score, class, angle
    for b in range(2):
        rows = top[b][top[b, :, 4] > 0.8]
        n = int(out["num_dets"][b])
        assert n == len(rows) >= 5 and not out["det_boxes"][b, n:].any()
        want = pp.scale_rboxes(pp.regularize_rboxes(torch.cat([rows[:, :4], rows[:, 6:]], 1)),
                               letterbox_ratio_pad(tuple(orig[b].tolist()), (64, 96)))
        got = torch.cat([out["det_boxes"][b, :n], out["det_scores"][b, :n, None], out["det_classes"][b, :n, None]], 1)
        for g in got:
            match = (rows[:, 5] == g[6]) & ((rows[:, 4] - g[5]).abs() < 1e-5) & \
                ((want - g[:5]).abs().amax(1) < 1e-3 * want.abs().amax(1).clamp(min=1))
            assert match.any(), g
        assert out["det_scores"][b, :n].tolist() == sorted(out["det_scores"][b, :n].tolist(), reverse=True)


def test_cli_builds_end_to_end_engines(tmp_path, capsys):
    """`trtnn build yolov8n-obb --end2end` with TensorRT-RTX: fp16, dynamic batch, every option; nc from weights."""
    plan = tmp_path / "obb.plan"
    code = cli.main(["build", "yolov8n-obb", "--random-weights", "--imgsz", "64", "--end2end", "--dtype", "fp16",
                     "--max-batch", "2", "--runtime-thresholds", "--orig-size", "--preprocess", "-o", str(plan)])
    out = capsys.readouterr().out
    assert code == 0 and plan.stat().st_size > 0
    assert "input  images: -1x64x64x3 uint8" in out and "output det_boxes: -1x300x5 fp32" in out
    assert "input  orig_size: -1x2 int32" in out and "output det_classes: -1x300 int32" in out
    code = cli.main(["build", "yolo26n-obb", "--random-weights", "--imgsz", "64", "--end2end", "--head", "one2many",
                     "--iou", "0.5", "-o", str(tmp_path / "o2m.plan")])
    assert code == 0 and "output det_boxes: 1x300x5 fp32" in capsys.readouterr().out
    trtnn.save_checkpoint(yolo11_obb("n", nc=2).state_dict(), tmp_path / "obb.pt")
    code = cli.main(["build", "yolo11n-obb", "--weights", str(tmp_path / "obb.pt"), "--imgsz", "64", "-o",
                     str(tmp_path / "raw.plan")])
    assert code == 0 and "1x7x84 fp32" in capsys.readouterr().out  # 4 + nc 2 + angle, nc read off the checkpoint
