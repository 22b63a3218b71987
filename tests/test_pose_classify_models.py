"""YOLOv8 / YOLO11 pose and classify models against the references in tests/refmodels: keys equal keys/*.keys,
parameter counts equal MODELS.md and the yaml summaries, raw outputs (CPU executor) within 1e-5 of torch's."""
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

import refmodels as ref  # noqa: E402
import trtnn  # noqa: E402
from trtnn.errors import ConfigError  # noqa: E402
from trtnn.models.yolo import yolo11_cls, yolo11_pose, yolo26_cls, yolo26_pose, yolov8_cls, yolov8_pose  # noqa: E402
from trtnn.reference import Executor  # noqa: E402
from harness import parse_keys, rel_err  # noqa: E402

TOL = 1e-5
PAIRS = {  # keys file -> (reference factory, trtnn factory)
    "yolov8n-pose": (ref.yolov8_pose, yolov8_pose), "yolo11n-pose": (ref.yolo11_pose, yolo11_pose),
    "yolov8n-cls": (ref.yolov8_cls, yolov8_cls), "yolo11n-cls": (ref.yolo11_cls, yolo11_cls),
    "yolo26n-pose": (ref.yolo26_pose, yolo26_pose), "yolo26n-cls": (ref.yolo26_cls, yolo26_cls),
}
PARAMS = {  # n: MODELS.md; yolo11 s..x: ultralytics' yaml summary comments (pose 80 classes, cls 80 classes)
    (yolov8_pose, 1): [3_295_470, 11_626_046, 26_464_462, 44_489_196, 69_491_724],
    (yolo11_pose, 80): [2_908_507, 9_948_811, 20_973_273, 26_230_745, 58_889_881],
    (yolov8_cls, 1000): [2_719_288, 6_361_736, 17_053_336, 37_480_744, 57_422_840],
    (yolo11_cls, 80): [1_633_584, 5_545_488, 10_455_696, 12_937_104, 28_458_544],
    (yolo11_cls, 1000): [2_812_104],
}


@pytest.mark.parametrize("name", list(PAIRS))
def test_keys_equal_the_originals(name):
    make_ref, make = PAIRS[name]
    want = parse_keys(name)
    r = make_ref("n")
    assert [(k, tuple(v.shape)) for k, v in r.state_dict().items()] == want
    model = make("n")
    model.load_state_dict(ref.randomize_bn(r, 1).state_dict(), strict=True)  # yolo26 pose: its flow model loads too
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == want


@pytest.mark.parametrize("make,nc", list(PARAMS), ids=lambda v: getattr(v, "__name__", str(v)))
def test_param_counts(make, nc):
    got = [sum(p.numel() for p in make(s, nc=nc).parameters()) for s in "nsmlx"[:len(PARAMS[make, nc])]]
    assert got == PARAMS[make, nc]


def _run(r, model, shape, seed):
    model.load_state_dict(r.state_dict(), strict=True)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
    net = trtnn.define(model, [trtnn.Input("images", shape)])
    got = Executor(net.network)({"images": x})[net.outputs[0].name]
    with torch.no_grad():
        want = r(x)
    return got, want


@pytest.mark.parametrize("make_ref,make,nc,kpt_shape,shape", [
    (ref.yolov8_pose, yolov8_pose, 1, (17, 3), (2, 3, 64, 96)),
    (ref.yolo11_pose, yolo11_pose, 3, (17, 3), (1, 3, 96, 64)),
    (ref.yolov8_pose, yolov8_pose, 2, (5, 2), (1, 3, 64, 64)),
], ids=["yolov8n-pose", "yolo11n-pose_nc3", "yolov8n-pose_5x2"])
def test_pose_raw_outputs(make_ref, make, nc, kpt_shape, shape):
    r = ref.randomize_bn(make_ref("n", nc=nc, kpt_shape=kpt_shape), seed=3)
    got, want = _run(r, make("n", nc=nc, kpt_shape=kpt_shape), shape, 4)
    h, w = shape[2:]
    k, d = kpt_shape
    assert got.shape == want.shape == (shape[0], 4 + nc + k * d, sum((h // s) * (w // s) for s in (8, 16, 32)))
    kp, kp_ref = got[:, 4 + nc:].reshape(shape[0], k, d, -1), want[:, 4 + nc:].reshape(shape[0], k, d, -1)
    parts = [(got[:, :4], want[:, :4]), (got[:, 4:4 + nc], want[:, 4:4 + nc]), (kp[:, :, :2], kp_ref[:, :, :2])]
    if d == 3:
        parts.append((kp[:, :, 2], kp_ref[:, :, 2]))
        assert ((kp[:, :, 2] > 0) & (kp[:, :, 2] < 1)).all()
    for a, b in parts:
        assert rel_err(a, b) <= TOL


def test_pose_keypoint_decoding():
    """Zero raw keypoints sit at the anchor centre minus half a stride: x = (a - 0.5) * s, visibility 0.5."""
    model = yolov8_pose("n", nc=1, kpt_shape=(2, 3))
    for seq in model.model[-1].cv4:
        seq[-1].weight = trtnn.Parameter(torch.zeros_like(seq[-1].weight.data))
        seq[-1].bias = trtnn.Parameter(torch.tensor([1.0, -2.0, 0.0, 0.0, 0.0, 0.0]))  # keypoint 0: (+1, -2)
    net = trtnn.define(model, [trtnn.Input("images", (1, 3, 64, 64))])
    out = Executor(net.network)({"images": torch.rand(1, 3, 64, 64)})["output"]
    kp = out[0, 5:].reshape(2, 3, -1)
    # anchor 0: cell (0, 0) of the stride-8 map, centre 0.5; anchor 64: first cell of the stride-16 map
    assert kp[0, :, 0].tolist() == [(2 + 0.5 - 0.5) * 8, (-4 + 0.5 - 0.5) * 8, 0.5]
    assert kp[1, :, 64].tolist() == [0.0, 0.0, 0.5]
    assert kp[0, 0, 9].item() == (2 + 1.5 - 0.5) * 8  # anchor 9 = row 1, column 1


@pytest.mark.parametrize("make_ref,make,nc,shape", [
    (ref.yolov8_cls, yolov8_cls, 1000, (2, 3, 64, 64)),
    (ref.yolo11_cls, yolo11_cls, 7, (1, 3, 96, 64)),
], ids=["yolov8n-cls", "yolo11n-cls_nc7"])
def test_classify_raw_outputs(make_ref, make, nc, shape):
    got, want = _run(ref.randomize_bn(make_ref("n", nc=nc), seed=5), make("n", nc=nc), shape, 6)
    assert got.shape == want.shape == (shape[0], nc)
    assert torch.allclose(got.sum(1), torch.ones(shape[0]), atol=1e-5)
    assert rel_err(got, want) <= TOL


@pytest.mark.parametrize("kpt_shape", [(17, 4), (0, 3), (17,), "17x3", (17.0, 3)])
def test_bad_kpt_shape(kpt_shape):
    with pytest.raises(ConfigError, match=r"yolo11_pose: kpt_shape must be \(keypoints >= 1, 2 or 3\)"):
        yolo11_pose("n", kpt_shape=kpt_shape)


# ---- YOLO26 ---------------------------------------------------------------------------------------------------------

def test_yolo26_param_counts():
    """n: MODELS.md; yolo26-cls s..x: its yaml's summary comments (1000 classes)."""
    assert sum(p.numel() for p in yolo26_pose("n").parameters()) == 3_747_554
    assert [sum(p.numel() for p in yolo26_cls(s).parameters()) for s in "nsmlx"] == [
        2_812_104, 6_724_008, 11_634_216, 14_115_624, 29_637_064]


@pytest.mark.parametrize("end2end", [True, False], ids=["one2one", "one2many"])
def test_yolo26_pose_raw_outputs(end2end):
    """Both branches: the one-to-one (x1y1x2y2, its own keypoint convs) and the one-to-many (xywh)."""
    r = ref.randomize_bn(ref.yolo26_pose("n", nc=3), seed=11)
    model = yolo26_pose("n", nc=3)
    r.model[-1].end2end = end2end
    model.model[-1].end2end = end2end
    got, want = _run(r, model, (1, 3, 64, 96), 12)
    assert got.shape == want.shape == (1, 4 + 3 + 51, 126)
    kp, kp_ref = got[:, 7:].reshape(1, 17, 3, -1), want[:, 7:].reshape(1, 17, 3, -1)
    for a, b in ((got[:, :4], want[:, :4]), (got[:, 4:7], want[:, 4:7]), (kp[:, :, :2], kp_ref[:, :, :2]),
                 (kp[:, :, 2], kp_ref[:, :, 2])):
        assert rel_err(a, b) <= TOL


def test_yolo26_keypoint_decoding_has_no_doubling():
    """YOLO26 keypoints: (raw + anchor) * stride, so a zero raw keypoint sits on its anchor centre."""
    model = yolo26_pose("n", nc=1, kpt_shape=(1, 3))
    for conv in model.model[-1].one2one_cv4_kpts:
        conv.weight = trtnn.Parameter(torch.zeros_like(conv.weight.data))
        conv.bias = trtnn.Parameter(torch.tensor([1.0, -2.0, 0.0]))
    net = trtnn.define(model, [trtnn.Input("images", (1, 3, 64, 64))])
    out = Executor(net.network)({"images": torch.rand(1, 3, 64, 64)})["output"]
    assert out[0, 5:, 0].tolist() == [(1 + 0.5) * 8, (-2 + 0.5) * 8, 0.5]
    assert out[0, 5:, 64].tolist() == [(1 + 0.5) * 16, (-2 + 0.5) * 16, 0.5]


def test_yolo26_cls_raw_outputs():
    got, want = _run(ref.randomize_bn(ref.yolo26_cls("n", nc=5), seed=13), yolo26_cls("n", nc=5), (2, 3, 64, 64), 14)
    assert got.shape == want.shape == (2, 5) and rel_err(got, want) <= TOL


def test_classify_batchnorm_eps_as_ultralytics():
    """ultralytics' ClassificationModel does not run initialize_weights: its BatchNorms keep eps 1e-5 (detection,
    pose: 1e-3). Found by tools/crosscheck_ultralytics.py (probs off by 1e-3 with eps 1e-3)."""
    import trtnn.nn as tnn

    def eps(model):
        return {m.eps for m in model.modules() if isinstance(m, tnn.BatchNorm2d)}

    assert eps(yolov8_cls("n", nc=3)) == eps(yolo11_cls("n", nc=3)) == eps(yolo26_cls("n", nc=3)) == {1e-5}
    assert eps(yolov8_pose("n")) == eps(trtnn.models.yolo11("n")) == {1e-3}
