"""trtnn.quant's INT8 policy by measured sensitivity (issue 23): a network with one layer that INT8 ruins keeps
exactly that layer in the base dtype, none with a relaxed budget; the policy is saved beside the cache and reused,
applied by define, and an end-to-end wrapper (NMS loop inside) calibrates directly."""
import json
import math

import numpy as np
import pytest
import torch

import trtnn
import trtnn.nn as nn
from trtnn.quant import Policy, policy_path
from trtnn.quant.parts import HeadLayout, sqnr, task_parts
from trtnn.quant.sensitivity import fake_quant, keep_order
from trtnn.reference import Executor


class Ruined(trtnn.Module):
    """conv1 -> relu -> conv2 -> relu -> conv3: conv1's channel 0 is a constant 60 that conv2 ignores (zero
    weights), so conv2's input range is 60 while its useful channels are ~1: per-tensor INT8 on that input ruins
    conv2 alone."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.act2 = nn.ReLU()
        self.conv3 = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        return self.conv3(self.act2(self.conv2(self.act1(self.conv1(x)))))


def ruined_model():
    torch.manual_seed(0)
    m = Ruined()
    state = {k: torch.randn(v.shape) * 0.3 for k, v in m.state_dict().items()}
    state["conv1.weight"][0] = 0.0
    state["conv1.bias"][0] = 60.0
    state["conv2.weight"][:, 0] = 0.0
    m.load_state_dict(state)
    return m


INPUTS = [trtnn.Input("x", (4, 3, 16, 16))]


def batches(n=2, seed=1):
    g = np.random.default_rng(seed)
    return [{"x": g.uniform(0, 1, (4, 3, 16, 16)).astype(np.float32)} for _ in range(n)]


def test_the_policy_keeps_exactly_the_layer_int8_ruins():
    cal = trtnn.quant.calibrate(ruined_model(), INPUTS, batches(), method="minmax", budget=30)
    p = cal.policy
    assert p.kept == ["conv2"]
    assert 10 < p.sqnr_all["output"] < 20 and p.sqnr["output"] >= 30  # measured: ruined, then within the budget
    assert p.reasons["conv2"] < 20  # its estimated cost alone says why
    assert p.int8_flops == pytest.approx((3 * 9 * 8 + 8 * 4) / (3 * 9 * 8 + 8 * 9 * 8 + 8 * 4))  # MACs per pixel
    assert "kept in the base dtype: conv2" in p.summary()
    net = trtnn.define(ruined_model(), INPUTS, dtype="int8", calibration=cal)
    assert sorted(net.quantized) == ["conv1", "conv3"]  # define applies the policy


class TwoOutputs(trtnn.Module):
    """Ruined's first two layers as output 0 (INT8 ruins conv2) beside a clean 1x1 tap of the input as output 1."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 32, 3, padding=1)
        self.tap = nn.Conv2d(3, 2, 1)

    def forward(self, x):
        return self.conv2(self.act1(self.conv1(x))), self.tap(x)


def test_only_the_parts_at_risk_decide_what_is_kept():
    torch.manual_seed(0)
    m = TwoOutputs()
    state = {k: torch.randn(v.shape) * 0.3 for k, v in m.state_dict().items()}
    state["conv1.weight"][0], state["conv1.bias"][0], state["conv2.weight"][:, 0] = 0.0, 60.0, 0.0
    m.load_state_dict(state)
    p = trtnn.quant.calibrate(m, INPUTS, batches(), method="minmax", budget=30).policy
    assert p.sqnr_all["output0"] < 20 and p.sqnr_all["output1"] > 33  # the tap is far above the budget
    assert p.at_risk == ["output0"] and p.kept == ["conv2"]
    assert "kept for: output0 (the other parts stay above the budget + 10 dB" in p.summary()
    relaxed = trtnn.quant.calibrate(m, INPUTS, batches(), method="minmax", budget=10).policy
    assert relaxed.kept == [] and "kept for" not in relaxed.summary()


def test_a_relaxed_budget_keeps_nothing():
    cal = trtnn.quant.calibrate(ruined_model(), INPUTS, batches(), method="minmax", budget=10)
    assert cal.policy.kept == [] and cal.policy.int8_flops == 1.0
    net = trtnn.define(ruined_model(), INPUTS, dtype="int8", calibration=cal)
    assert sorted(net.quantized) == ["conv1", "conv2", "conv3"]


def test_no_budget_is_plain_calibration_and_a_dict_quantizes_everything():
    cal = trtnn.quant.calibrate(ruined_model(), INPUTS, batches(), method="minmax", budget=None)
    assert cal.policy is None
    net = trtnn.define(ruined_model(), INPUTS, dtype="int8", calibration=dict(cal.amax))
    assert len(net.quantized) == 3


def test_auto_method_fixes_the_outlier_tensor_by_its_method_instead():
    """method 'auto' (the default) may give the ruined tensor another method; whatever it chooses, the measured
    SQNR meets the budget and nothing more than conv2 is kept."""
    cal = trtnn.quant.calibrate(ruined_model(), INPUTS, batches(), budget=30)
    assert cal.policy.sqnr["output"] >= 30
    assert set(cal.policy.kept) <= {"conv2"}


def test_policy_is_saved_beside_the_cache_and_reused(tmp_path, monkeypatch):
    cache = str(tmp_path / "calib.json")
    first = trtnn.quant.calibrate(ruined_model(), INPUTS, batches(), method="minmax", budget=30, cache=cache)
    doc = json.loads(open(policy_path(cache)).read())
    assert doc["kept"] == ["conv2"] and doc["budget"] == 30
    import trtnn.quant.calibrator as calibrator

    monkeypatch.setattr(calibrator, "choose_policy", lambda *a, **k: pytest.fail("policy recomputed"))
    monkeypatch.setattr(calibrator, "collect", lambda *a, **k: pytest.fail("recalibrated"))
    again = trtnn.quant.calibrate(ruined_model(), INPUTS, batches(), method="minmax", budget=30, cache=cache)
    assert again.reused and again.policy.kept == ["conv2"] and again.amax == first.amax
    monkeypatch.setattr(calibrator, "POLICY_VERSION", calibrator.POLICY_VERSION + 1)  # another policy algorithm
    with pytest.raises(pytest.fail.Exception, match="policy recomputed"):
        trtnn.quant.calibrate(ruined_model(), INPUTS, batches(), method="minmax", budget=30, cache=cache)


def test_policy_json_round_trip_and_corrupt_file():
    p = Policy("int8", 30.0, "minmax", defaults=["m.dfl"], kept=["a"], reasons={"a": 12.5})
    assert Policy.from_json(p.to_json(), "x") == p
    assert p.exclude == ["m.dfl", "a"]
    with pytest.raises(trtnn.TrtnnError, match="not a trtnn INT8 policy"):
        Policy.from_json("{\"nope\": 1}", "policy 'p.json'")


@pytest.mark.parametrize("kw, message", [({"budget": -1}, "budget must be"), ({"budget": "30"}, "budget must be"),
                                         ({"dtype": "fp16"}, "dtype must be 'int8' or 'fp8'"),
                                         ({"exclude": "conv2"}, "exclude must be a list")])
def test_bad_policy_arguments(kw, message):
    with pytest.raises(trtnn.TrtnnError, match=message):
        trtnn.quant.calibrate(ruined_model(), INPUTS, batches(), **kw)


def test_fake_quant_matches_the_executors_qdq():
    x = torch.linspace(-3, 3, 101)
    got = fake_quant(x, 2.0, torch.int8)
    scale = 2.0 / 127
    assert torch.allclose(got, torch.round(x / scale).clamp(-128, 127) * scale)
    fp8 = fake_quant(x, 3.0, torch.float8_e4m3fn)
    assert torch.equal(fp8, (x / (3.0 / 448)).to(torch.float8_e4m3fn).float() * (3.0 / 448))


def test_layers_are_kept_by_error_removed_per_flop():
    flops = {"big": 900.0, "small": 90.0, "add": 0.0, "quiet": 10.0}
    score = {"big": 1.0, "small": 0.5, "add": 0.02, "quiet": 1e-4}  # estimated noise-to-signal each adds
    # per FLOP: small 0.5 / 95, add 0.02 / 5 (FLOP_FLOOR of 1000), big 1 / 905, quiet 1e-4 / 15
    assert keep_order(score, flops) == ["small", "add", "big", "quiet"]


def test_task_parts_of_a_yolo_head():
    y = torch.zeros(1, 4 + 3 + 2, 10)
    y[0, 4, :5] = 0.9
    parts = task_parts({"out": y}, HeadLayout(3, "mask coefficients"))
    assert [p.name for p in parts] == ["boxes", "scores", "mask coefficients"]
    assert parts[0].weight.sum() == 5  # boxes count where the score reaches the floor


def _box_sqnr(ref_boxes: torch.Tensor, got_boxes: torch.Tensor, box_format: str = "xywh") -> float:
    """SQNR of the boxes part of a one-class head output whose anchors all score 0.9."""
    def out(boxes):
        return {"out": torch.cat((boxes.T[None], torch.full((1, 1, boxes.shape[0]), 0.9)), 1)}
    ref = out(ref_boxes)
    return sqnr(ref, out(got_boxes), task_parts(ref, HeadLayout(1, box_format=box_format)))["boxes"]


def test_boxes_count_by_their_edges_error_relative_to_their_size():
    """What IoU sees: moving a box by 1 px costs a small box more than a big one, and where the box sits in the
    image does not matter (in absolute coordinates a box far from the origin hid the same error)."""
    small, big = torch.tensor([[50.0, 50, 10, 10]] * 10), torch.tensor([[50.0, 50, 100, 100]] * 10)
    shift = torch.tensor([1.0, 0, 0, 0])
    assert _box_sqnr(small, small + shift) == pytest.approx(10 * math.log10(4 * 5 ** 2 / 2), abs=1e-3)  # 17.0 dB
    assert _box_sqnr(big, big + shift) == pytest.approx(_box_sqnr(small, small + shift) + 20, abs=1e-3)
    far = small + torch.tensor([500.0, 500, 0, 0])
    assert _box_sqnr(far, far + shift) == pytest.approx(_box_sqnr(small, small + shift), abs=1e-3)
    xyxy = torch.cat((small[:, :2] - small[:, 2:] / 2, small[:, :2] + small[:, 2:] / 2), 1)
    moved = xyxy + torch.tensor([1.0, 0, 1, 0])  # the same 1 px shift in corner form
    assert _box_sqnr(xyxy, moved, "xyxy") == pytest.approx(_box_sqnr(small, small + shift), abs=1e-3)
    with pytest.raises(trtnn.ConfigError, match="box_format must be 'xywh' or 'xyxy', got 'cxcywh'"):
        HeadLayout(1, box_format="cxcywh")


def test_keypoints_count_by_their_offsets_from_the_box_center():
    """As OKS: a keypoint's error relative to the object's size, wherever the object sits; visibility as it is."""
    def out(dx, x0):  # one class, 2 keypoints (x, y, visibility) on 20 anchors, boxes 20 px wide centered at x0
        y = torch.zeros(1, 4 + 1 + 6, 20)
        y[0, :4] = torch.tensor([x0, 50.0, 20, 20])[:, None]
        y[0, 4] = 0.9
        y[0, 5:] = torch.tensor([x0 - 5 + dx, 50, 0.8, x0 + 5, 55, 0.6])[:, None]
        return {"out": y}

    def kpt_sqnr(x0):
        ref = out(0.0, x0)
        return sqnr(ref, out(1.0, x0), task_parts(ref, HeadLayout(1, "keypoints", keypoint_dims=3)))["keypoints"]
    signal = 5 ** 2 + 0 + 0.8 ** 2 + 5 ** 2 + 5 ** 2 + 0.6 ** 2  # offsets from the center and the visibilities
    assert kpt_sqnr(50.0) == pytest.approx(10 * math.log10(signal), abs=1e-3)  # noise 1 px per anchor
    assert kpt_sqnr(500.0) == pytest.approx(kpt_sqnr(50.0), abs=1e-3)


@pytest.mark.parametrize("make, end2end, want", [
    (lambda: trtnn.models.yolov8("n", nc=3), None, HeadLayout(3, "extra", "xywh")),
    (lambda: trtnn.models.yolov10("n", nc=3), None, HeadLayout(3, "extra", "xyxy")),  # one-to-one: corners
    (lambda: trtnn.models.yolov10("n", nc=3), False, HeadLayout(3, "extra", "xywh")),
    (lambda: trtnn.models.yolov8_seg("n", nc=2), None, HeadLayout(2, "mask coefficients", "xywh")),
    (lambda: trtnn.models.yolo26_obb("n", nc=2), None, HeadLayout(2, "angle", "xywh")),  # OBB: xywh from both
    (lambda: trtnn.models.yolov8_pose("n", nc=1), None, HeadLayout(1, "keypoints", "xywh", 3)),
])
def test_the_policy_reads_the_heads_layout(make, end2end, want):
    from trtnn.quant.calibrator import head_layout

    model = make()
    if end2end is not None:
        model.model[-1].end2end = end2end
    assert head_layout(model) == want


def test_segmentation_prototypes_count_as_the_mask_logits_of_the_best_anchors():
    torch.manual_seed(0)
    y = torch.rand(2, 4 + 3 + 2, 50) * 0.05
    y[:, 4, 7], y[1, 5, 9] = 0.9, 0.95
    protos = torch.randn(2, 2, 4, 4)
    parts = task_parts({"out": y, "protos": protos}, HeadLayout(3, "mask coefficients"))
    assert [p.name for p in parts] == ["boxes", "scores", "mask coefficients", "masks"]
    masks = parts[3]
    assert masks.anchors.shape == (2, 32) and masks.anchors[0, 0] == 7 and masks.anchors[1, 0] == 9
    logits = masks.of({"out": y, "protos": protos})
    assert logits.shape == (2, 32, 16)
    want = y[1, 7:, 9] @ protos[1].flatten(1)  # the best anchor of image 1: its coefficients x the prototypes
    assert torch.allclose(logits[1, 0], want)
    assert float(logits[0, 1:].abs().max()) == 0  # anchors under the score floor do not count


def test_an_end2end_wrapper_quantizes_its_raw_model_only():
    """QUANT_SCOPE: a segmentation wrapper's mask assembly (coefficients x prototypes, a matmul after NMS) stays
    float; every quantized layer is the raw model's."""
    from trtnn.models.yolo.tasks import SegmentEnd2End

    torch.manual_seed(0)
    e2e = SegmentEnd2End(trtnn.models.yolov8_seg("n", nc=2), conf=0.001)
    inputs = e2e.inputs((64, 64), batch=1)
    amax = {t: 4.0 for t in trtnn.quant.activation_tensors(trtnn.define(e2e, inputs, dtype="fp32").network)}
    net = trtnn.define(e2e, inputs, dtype="int8", calibration=amax, exclude=[])
    assert len(net.quantized) > 50 and all(name.startswith("model.") for name in net.quantized)


def test_end2end_wrapper_calibrates_directly_and_its_nms_needs_no_range():
    from trtnn.models.vision import Preprocess
    from trtnn.models.yolo.tasks import End2End

    torch.manual_seed(0)
    model = trtnn.models.yolov8("n", nc=3)
    e2e = End2End(model, conf=0.001, preprocess=Preprocess("NHWC", bgr=True))
    inputs = e2e.inputs((64, 64), batch=2)
    data = [{"images": np.random.default_rng(0).integers(0, 255, (2, 64, 64, 3), dtype=np.uint8)}]
    cal = trtnn.quant.calibrate(e2e, inputs, data, budget=None, method="minmax")
    assert "model.model.0.act" in cal.amax and "preprocess" in cal.amax
    assert cal.policy is None and cal.exclude == ["model.model.22.dfl"]  # no policy: the spec's list still applies
    net32 = trtnn.define(e2e, inputs, dtype="fp32")
    assert set(cal.amax) == set(trtnn.quant.activation_tensors(net32.network))
    assert not any("nms" in t.lower() and ":loop" in t for t in cal.amax)
    net = trtnn.define(e2e, inputs, dtype="int8", calibration=cal, exclude=["DFL"])
    out = Executor(net)(data[0])
    assert out["num_dets"].shape == (2, 1)


def test_spec_defaults_name_the_dfl_convolution_where_the_model_has_one():
    from trtnn.models.registry import SPECS, quant_defaults

    assert SPECS["yolov8n"].quant_exclude == ("DFL",)
    assert quant_defaults(trtnn.models.yolov8("n", nc=3)) == ["model.22.dfl"]
    assert quant_defaults(trtnn.models.yolo26("n", nc=3)) == []  # YOLO26 has no DFL
    assert quant_defaults(ruined_model()) == []
