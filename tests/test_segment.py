"""trtnn.models.segment: in-engine NMS + masks against the reference ultralytics post-processing
(tests/refmodels/segment_postprocess.py), on the CPU executor.

Masks must be equal pixel for pixel except where the reference's value before the > 0 threshold is within
BOUNDARY of 0 (float rounding of the same arithmetic in another order); those pixels are counted and bounded.
"""
import pytest
import torch

import trtnn
import trtnn.functional as F
from refmodels import detect_postprocess as pp
from refmodels import randomize_bn
from refmodels import segment_postprocess as sp
from refmodels import yolov8_seg as ref_yolov8_seg
from trtnn.errors import ConfigError
from trtnn.models.vision import Preprocess
from trtnn.models.yolo.tasks import SegmentEnd2End
from trtnn.reference import Executor

OUTPUTS = ["num_dets", "det_boxes", "det_scores", "det_classes", "det_masks"]
BOUNDARY = 1e-4


class ConstSeg(trtnn.Module):
    """A stand-in segmentation model: returns fixed raw outputs (pred [B, 4 + nc + nm, A], protos [B, nm, mh, mw])
    plus 0 * the image (so the image stays an input)."""

    def __init__(self, pred: torch.Tensor, protos: torch.Tensor) -> None:
        super().__init__()
        self.pred, self.protos = pred, protos

    def forward(self, x):
        zero = F.amax(x.flatten(1), -1).reshape(-1, 1, 1) * 0
        return F.constant(self.pred, x) + zero, F.constant(self.protos, x) + zero.unsqueeze(3)


def seg_model(seed=0):
    torch.manual_seed(seed)
    torch_model = randomize_bn(ref_yolov8_seg("n", nc=3), seed=0).eval()
    model = trtnn.models.yolov8_seg("n", nc=3)
    model.load_state_dict(torch_model.state_dict())
    return model


def assert_masks(got, values, limit=0.002):
    """got uint8 == (values > 0) except at |values| <= BOUNDARY; returns the number of such differing pixels."""
    want = values.gt(0).to(torch.uint8)
    differ = got != want
    assert (values[differ].abs() <= BOUNDARY).all(), "masks differ away from the threshold boundary"
    assert differ.sum().item() <= limit * max(1, want.numel())
    return int(differ.sum())


def check(out, dets, max_det, mask_values):
    """Detections equal the reference's (boxes 1e-3), masks equal up to boundary pixels; rows past num_dets zero."""
    for i, det in enumerate(dets):
        n = len(det.scores)
        assert out["num_dets"][i, 0].item() == n
        torch.testing.assert_close(out["det_boxes"][i, :n], det.boxes, atol=1e-3, rtol=0)
        torch.testing.assert_close(out["det_scores"][i, :n], det.scores, atol=1e-6, rtol=0)
        assert torch.equal(out["det_classes"][i, :n].long(), det.classes)
        assert out["det_masks"].dtype == torch.uint8 and out["det_masks"].shape[:2] == (len(dets), max_det)
        assert not out["det_masks"][i, n:].any() and not out["det_boxes"][i, n:].any()
        if n:
            assert_masks(out["det_masks"][i, :n], mask_values(i, det))


def raw(got, net):
    pred, protos = (got[name] for name in net.module_outputs["model"])
    return pred, protos


@pytest.mark.parametrize("resolution", ["input", "proto"])
def test_random_model_matches_reference(resolution):
    """yolov8n-seg (random weights, 3 classes) at 64x96: more candidates than max_det; masks as process_mask."""
    e2e = SegmentEnd2End(seg_model(), conf=0.3, max_det=12, preprocess=Preprocess(), mask_resolution=resolution)
    net = trtnn.define(e2e, e2e.inputs((64, 96), batch=2), debug_outputs=["model"])
    img = torch.randint(0, 256, (2, 64, 96, 3), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    got = Executor(net.network)({"images": img})
    assert list(got)[:5] == OUTPUTS
    pred, protos = raw(got, net)
    dets = sp.v8_seg_nms(pred, 32, 0.3, 0.7, 12)
    assert all(len(d.scores) == 12 for d in dets)  # more candidates than max_det
    check(got, dets, 12, lambda i, d: sp.process_mask(protos[i], d.coeffs, d.boxes, (64, 96),
                                                       upsample=resolution == "input", values=True))
    assert got["det_masks"].shape[2:] == ((64, 96) if resolution == "input" else (16, 24))
    assert 0.1 < got["det_masks"].float().mean() < 0.9  # masks with both values


def random_raw(b=2, a=300, nc=3, nm=8, hw=(64, 96), seed=0):
    """Random raw outputs: boxes anywhere in (and past the borders of) an image of hw, scores in [0, 1), mask
    coefficients and prototypes N(0, 1) (masks depend on both)."""
    g = torch.Generator().manual_seed(seed)
    h, w = hw
    xy = torch.rand(b, 2, a, generator=g) * torch.tensor([w, h]).view(1, 2, 1)
    wh = (torch.rand(b, 2, a, generator=g) * 0.6 + 0.05) * torch.tensor([w, h]).view(1, 2, 1)
    pred = torch.cat([xy, wh, torch.rand(b, nc, a, generator=g), torch.randn(b, nm, a, generator=g)], 1)
    return pred, torch.randn(b, nm, h // 4, w // 4, generator=g)


@pytest.mark.parametrize("resolution,multi_label", [("input", False), ("proto", False), ("input", True)])
def test_random_raw_outputs_match_reference(resolution, multi_label):
    """300 random boxes, more candidates than max_det, boxes past the borders; predict's or val's (multi-label) NMS."""
    pred, protos = random_raw()
    e2e = SegmentEnd2End(ConstSeg(pred, protos), conf=0.5, iou=0.5, max_det=15, mask_resolution=resolution,
                         multi_label=multi_label)
    net = trtnn.define(e2e, e2e.inputs((64, 96), batch=2))
    got = Executor(net.network)({"images": torch.zeros(2, 3, 64, 96)})
    dets = sp.v8_seg_nms(pred, 8, 0.5, 0.5, 15, multi_label=multi_label)
    assert all(len(d.scores) == 15 for d in dets)
    check(got, dets, 15, lambda i, d: sp.process_mask(protos[i], d.coeffs, d.boxes, (64, 96),
                                                       upsample=resolution == "input", values=True))
    assert 0.02 < got["det_masks"].float().mean() < 0.5


def crafted(nc=2, nm=4, mh=8, mw=8):
    """Raw outputs for a 32x32 input: box 0 overlaps the left/top border, box 1 the right/bottom one, box 2 is inside,
    box 3 duplicates box 2 (suppressed); prototypes with structure so masks have both values inside each box."""
    boxes = torch.tensor([[-6.0, -3.0, 13.3, 9.7], [20.6, 18.2, 40.0, 37.0], [8.5, 12.25, 22.75, 26.5],
                          [8.0, 12.0, 23.0, 27.0]])
    scores = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.7, 0.05], [0.6, 0.0]])
    g = torch.Generator().manual_seed(5)
    coeffs = torch.randn(4, nm, generator=g)
    xywh = torch.cat([(boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]], 1)
    pred = torch.cat([xywh, scores, coeffs], 1).T.unsqueeze(0)
    protos = torch.randn(1, nm, mh, mw, generator=g) * 2
    return pred, protos


def test_masks_cropped_at_the_image_border_and_duplicates_suppressed():
    pred, protos = crafted()
    e2e = SegmentEnd2End(ConstSeg(pred, protos), conf=0.25, max_det=5)
    net = trtnn.define(e2e, e2e.inputs((32, 32)))
    got = Executor(net.network)({"images": torch.zeros(1, 3, 32, 32)})
    dets = sp.v8_seg_nms(pred, 4, 0.25, 0.7, 5)
    assert len(dets[0].scores) == 3  # box 3 suppressed by box 2
    check(got, dets, 5, lambda i, d: sp.process_mask(protos[i], d.coeffs, d.boxes, (32, 32), True, values=True))
    m = got["det_masks"][0]
    # upsampled, then cropped at the input size with fractional edges: box 0 (-6, -3, 13.3, 9.7) keeps rows <= 9 and
    # columns <= 13; box 1 (20.6, 18.2, 40, 37) keeps rows >= 19 and columns >= 21
    assert not m[0, 10:, :].any() and not m[0, :, 14:].any()
    assert not m[1, :19, :].any() and not m[1, :, :21].any()
    assert m[0].any() and m[1].any()


def test_empty_image_gives_zero_masks():
    pred, protos = crafted()
    pred[:, 4:6] = 0.01  # every score below conf
    e2e = SegmentEnd2End(ConstSeg(pred, protos), conf=0.25, max_det=5, mask_resolution="proto")
    net = trtnn.define(e2e, e2e.inputs((32, 32)))
    got = Executor(net.network)({"images": torch.zeros(1, 3, 32, 32)})
    assert got["num_dets"].item() == 0
    assert got["det_masks"].shape == (1, 5, 8, 8) and not got["det_masks"].any() and not got["det_boxes"].any()


def test_orig_size_masks_as_process_mask_native():
    """mask_resolution='orig': each image's masks at its original size in the canvas (rest zero), boxes mapped back
    as ultralytics' scale_boxes; masks equal process_mask_native on the mapped boxes."""
    pred, protos = crafted()
    pred, protos = pred.repeat(3, 1, 1), protos.repeat(3, 1, 1, 1)
    orig = torch.tensor([[40, 64], [64, 40], [32, 32]], dtype=torch.int32)
    e2e = SegmentEnd2End(ConstSeg(pred, protos), conf=0.25, max_det=5, scale_to_orig=True, mask_resolution="orig",
                         orig_canvas=(70, 66))
    net = trtnn.define(e2e, e2e.inputs((32, 32), batch=3))
    got = Executor(net.network)({"images": torch.zeros(3, 3, 32, 32), "orig_size": orig})
    assert got["det_masks"].shape == (3, 5, 70, 66)
    for i, (h0, w0) in enumerate(orig.tolist()):
        d = sp.v8_seg_nms(pred[i:i + 1], 4, 0.25, 0.7, 5)[0]
        boxes = pp.scale_boxes((32, 32), d.boxes, (h0, w0), pp.letterbox_ratio_pad((h0, w0), (32, 32)))
        n = len(d.scores)
        torch.testing.assert_close(got["det_boxes"][i, :n], boxes, atol=1e-3, rtol=0)
        values = sp.process_mask_native(protos[i], d.coeffs, got["det_boxes"][i, :n], (h0, w0), values=True)
        assert_masks(got["det_masks"][i, :n, :h0, :w0], values)
        assert not got["det_masks"][i, :, h0:].any() and not got["det_masks"][i, :, :, w0:].any()
        assert got["det_masks"][i, :n].any()


def test_dynamic_batch_runtime_thresholds_and_fp16():
    """fp16 network, dynamic batch (1..3, run with 2), conf/iou as inputs: equal to the reference on the network's
    own raw outputs."""
    e2e = SegmentEnd2End(seg_model(), max_det=10, preprocess=Preprocess(), runtime_thresholds=True)
    net = trtnn.define(e2e, e2e.inputs((64, 64), max_batch=3), dtype="fp16", debug_outputs=["model"])
    img = torch.randint(0, 256, (2, 64, 64, 3), generator=torch.Generator().manual_seed(2), dtype=torch.uint8)
    got = Executor(net.network)({"images": img, "conf_thres": torch.tensor([0.35]), "iou_thres": torch.tensor([0.5])})
    pred, protos = (t.float() for t in raw(got, net))
    dets = sp.v8_seg_nms(pred, 32, 0.35, 0.5, 10)
    assert got["det_masks"].shape == (2, 10, 64, 64) and all(len(d.scores) for d in dets)
    check(got, dets, 10, lambda i, d: sp.process_mask(protos[i], d.coeffs, d.boxes, (64, 64), True, values=True))


def test_engine_builds():
    e2e = SegmentEnd2End(seg_model(), max_det=4, preprocess=Preprocess(), mask_resolution="proto")
    net = trtnn.define(e2e, e2e.inputs((64, 64)))
    engine = trtnn.build_network(net)
    assert [o.name for o in engine.outputs] == OUTPUTS
    assert str(engine.outputs[-1]) == "det_masks: 1x4x16x16 uint8"


@pytest.mark.parametrize("kw,fragments", [
    (dict(mask_resolution="full"), ("mask_resolution", "'full'", "input, proto, orig")),
    (dict(mask_resolution="orig", scale_to_orig=True), ("orig_canvas", "scale_to_orig=True")),
    (dict(mask_resolution="orig", orig_canvas=(64, 64)), ("needs scale_to_orig=True", "scale_to_orig=False")),
    (dict(orig_canvas=(64, 64), scale_to_orig=True), ("only goes with it", "mask_resolution='input'")),
    (dict(mask_resolution="orig", scale_to_orig=True, orig_canvas=(0, 64)), ("two positive ints", "(0, 64)")),
])
def test_bad_arguments(kw, fragments):
    pred, protos = crafted()
    with pytest.raises(ConfigError) as e:
        SegmentEnd2End(ConstSeg(pred, protos), **kw)
    for f in fragments:
        assert f in str(e.value)
