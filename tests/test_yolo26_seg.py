"""YOLO26 segmentation (trtnn.models.yolo.segment26, trtnn.models.yolo.tasks.segment) against tests/refmodels: keys and
parameter counts of ultralytics 8.4.190, raw outputs of both branches (CPU executor, 1e-5), the one-to-one top-k with
masks and the one-to-many branch + NMS against the reference post-processing (tests/refmodels/segment_postprocess.py),
the registry and a TensorRT-RTX engine built by `trtnn build`."""
import json

import pytest
import torch

import refmodels as ref
import trtnn
import trtnn.functional as F
import trtnn.nn as nn
from harness import parse_keys, rel_err
from refmodels import detect_postprocess as pp
from refmodels import segment_postprocess as sp
from test_segment import assert_masks
from test_segment import check as check_segment
from trtnn import cli, models
from trtnn.errors import ConfigError
from trtnn.models.vision import Preprocess
from trtnn.models.yolo.tasks import SegmentEnd2End
from trtnn.models.yolo.tasks import SegmentTopKEnd2End
from trtnn.models.yolo.tasks.segment import seg26_end2end
from trtnn.models.yolo import yolo26_seg
from trtnn.reference import Executor

TOL = 1e-5
OUTPUTS = ["num_dets", "det_boxes", "det_scores", "det_classes", "det_masks"]


def test_keys_and_parameter_counts_equal_the_originals():
    """keys/yolo26n-seg.keys (844 keys, proto.feat_refine / feat_fuse / semseg included); parameters: MODELS.md (n)
    and the yaml's summary comments (s..x), 80 classes."""
    want = parse_keys("yolo26n-seg")
    assert len(want) == 844 and any(k.startswith("model.23.proto.semseg.") for k, _ in want)
    r = ref.yolo26_seg("n")
    assert [(k, tuple(v.shape)) for k, v in r.state_dict().items()] == want
    model = yolo26_seg("n")
    model.load_state_dict(ref.randomize_bn(r, 1).state_dict(), strict=True)
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == want
    assert [sum(p.numel() for p in yolo26_seg(s).parameters()) for s in "nsmlx"] == [
        3_126_280, 11_505_800, 27_112_072, 31_515_528, 70_693_800]
    assert yolo26_seg("s", nc=7).model[-1].proto.semseg[2].out_channels == 7


def pair(nc=3, seed=3):
    """(reference, trtnn model with its weights); BN statistics random, so cv4 and one2one_cv4 differ; box biases 2
    (as ultralytics' bias_init: boxes of positive size), random class and coefficient biases (scores spread out,
    masks with both values). The convolutions' own initialization is seeded too: the test must not depend on what ran
    before it."""
    torch.manual_seed(seed)
    r = ref.randomize_bn(ref.yolo26_seg("n", nc=nc), seed=seed)
    g = torch.Generator().manual_seed(seed)
    head = r.model[-1]
    with torch.no_grad():
        for box, cls, mask in ((head.cv2, head.cv3, head.cv4), (head.one2one_cv2, head.one2one_cv3, head.one2one_cv4)):
            for level in range(head.nl):
                box[level][-1].bias.fill_(2.0)
                cls[level][-1].bias.copy_(torch.randn(nc, generator=g))
                mask[level][-1].bias.copy_(torch.randn(head.nm, generator=g))
    model = yolo26_seg("n", nc=nc)
    model.load_state_dict(r.state_dict(), strict=True)
    return r, model


@pytest.mark.parametrize("end2end", [True, False], ids=["one2one", "one2many"])
def test_raw_outputs_match_the_reference(end2end):
    """pred (boxes: x1y1x2y2 one-to-one, xywh one-to-many; scores; mask coefficients) and protos within 1e-5; the
    training-only semseg branch is not in the network."""
    r, model = pair()
    r.model[-1].end2end = model.model[-1].end2end = end2end
    x = torch.randn(2, 3, 64, 96, generator=torch.Generator().manual_seed(4))
    net = trtnn.define(model, [trtnn.Input("images", tuple(x.shape))])
    got = Executor(net.network)({"images": x})
    pred, protos = (got[o.name] for o in net.outputs)
    with torch.no_grad():
        want, want_protos = r(x)
    assert pred.shape == want.shape == (2, 4 + 3 + 32, 126) and protos.shape == want_protos.shape == (2, 32, 16, 24)
    for a, b in ((pred[:, :4], want[:, :4]), (pred[:, 4:7], want[:, 4:7]), (pred[:, 7:], want[:, 7:]),
                 (protos, want_protos)):
        assert rel_err(a, b) <= TOL
    names = [net.network.get_layer(i).name for i in range(net.network.num_layers)]
    assert any("proto.feat_refine.1" in n for n in names) and not any("semseg" in n for n in names)
    assert any(("one2one_cv4" in n) == end2end and ".cv4." in n.replace("one2one_", "") for n in names)


def check(out, dets, max_det, mask_values):
    """The outputs in their documented order, then test_segment's check: detections equal the reference's, masks up
    to threshold-boundary pixels, rows past num_dets zero."""
    assert list(out)[:5] == OUTPUTS
    check_segment(out, dets, max_det, mask_values)


def raw(got, net):
    return [got[name].float() for name in net.module_outputs["model"]]


@pytest.mark.parametrize("resolution", ["input", "proto"])
def test_one2one_topk_matches_reference(resolution):
    """The real model (random weights, 3 classes) at 64x96, batch 2: ultralytics' top-k with more candidates than
    max_det, masks as process_mask from the carried coefficients."""
    _, model = pair()
    e2e = SegmentTopKEnd2End(model, conf=0.3, max_det=12, preprocess=Preprocess(), mask_resolution=resolution)
    net = trtnn.define(e2e, e2e.inputs((64, 96), batch=2), debug_outputs=["model"])
    img = torch.randint(0, 256, (2, 64, 96, 3), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    got = Executor(net.network)({"images": img})
    pred, protos = raw(got, net)
    dets = sp.end2end_seg(pred, 3, 0.3, 12)
    assert all(len(d.scores) == 12 for d in dets)  # more candidates than max_det
    check(got, dets, 12, lambda i, d: sp.process_mask(protos[i], d.coeffs, d.boxes, (64, 96),
                                                       upsample=resolution == "input", values=True))
    assert got["det_masks"].shape[2:] == ((64, 96) if resolution == "input" else (16, 24))
    assert 0.05 < got["det_masks"].float().mean() < 0.9


def test_one2many_nms_through_the_registry():
    """--head one2many: the one-to-many branch (xywh) + NMS in SegmentEnd2End, equal to the reference NMS + masks."""
    _, model = pair(seed=5)
    opts = {"head": "one2many", "conf": 0.3, "iou": 0.6, "max_det": 10, "pre_nms_topk": 1000,
            "mask_resolution": "input", "layout": "NHWC", "bgr": True, "runtime_thresholds": False,
            "scale_to_orig": False}
    e2e = seg26_end2end(model, opts)
    assert isinstance(e2e, SegmentEnd2End) and model.model[-1].end2end is False
    net = trtnn.define(e2e, e2e.inputs((64, 64), batch=2), debug_outputs=["model"])
    img = torch.randint(0, 256, (2, 64, 64, 3), generator=torch.Generator().manual_seed(6), dtype=torch.uint8)
    got = Executor(net.network)({"images": img})
    pred, protos = raw(got, net)
    dets = sp.v8_seg_nms(pred, 32, 0.3, 0.6, 10)
    assert all(len(d.scores) for d in dets)
    check(got, dets, 10, lambda i, d: sp.process_mask(protos[i], d.coeffs, d.boxes, (64, 64), True, values=True))


class ConstHead(trtnn.Module):
    """A stand-in Segment26 head: fixed raw outputs (one-to-one pred [B, 4 + nc + nm, A], protos [B, nm, mh, mw])
    plus 0 * the image, with the one-to-one branch and prototypes SegmentTopKEnd2End looks for."""

    def __init__(self, pred, protos, nc):
        super().__init__()
        self.nc, self.end2end, self.pred, self.protos = nc, True, pred, protos
        self.one2one_cv2, self.proto = nn.Identity(), nn.Identity()

    def forward(self, x):
        zero = F.amax(x.flatten(1), -1).reshape(-1, 1, 1) * 0
        return F.constant(self.pred, x) + zero, F.constant(self.protos, x) + zero.unsqueeze(3)


class ConstSeg26(trtnn.Module):
    def __init__(self, pred, protos, nc):
        super().__init__()
        self.model = nn.ModuleList([ConstHead(pred, protos, nc)])

    def forward(self, x):
        return self.model[0](x)


def random_one2one(b=2, a=300, nc=3, nm=8, hw=(64, 96), seed=0):
    """Random one-to-one outputs: x1y1x2y2 boxes anywhere in (and past the borders of) an hw image, scores in
    [0, 1), coefficients and prototypes N(0, 1)."""
    g = torch.Generator().manual_seed(seed)
    h, w = hw
    size = torch.tensor([w, h]).view(1, 2, 1)
    xy = torch.rand(b, 2, a, generator=g) * size
    wh = (torch.rand(b, 2, a, generator=g) * 0.6 + 0.05) * size
    scores, coeffs = torch.rand(b, nc, a, generator=g), torch.randn(b, nm, a, generator=g)
    pred = torch.cat([xy - wh / 2, xy + wh / 2, scores, coeffs], 1)
    return pred, torch.randn(b, nm, h // 4, w // 4, generator=g)


@pytest.mark.parametrize("conf,max_det,full", [(0.5, 15, True), (0.97, 40, False)], ids=["over-max-det", "under"])
def test_topk_on_random_outputs(conf, max_det, full):
    """More candidates than max_det (all rows kept), and fewer (num_dets < max_det, later rows zero)."""
    pred, protos = random_one2one()
    e2e = SegmentTopKEnd2End(ConstSeg26(pred, protos, 3), conf=conf, max_det=max_det)
    net = trtnn.define(e2e, e2e.inputs((64, 96), batch=2))
    got = Executor(net.network)({"images": torch.zeros(2, 3, 64, 96)})
    dets = sp.end2end_seg(pred, 3, conf, max_det)
    assert all((len(d.scores) == max_det) == full and len(d.scores) > 5 for d in dets)
    check(got, dets, max_det, lambda i, d: sp.process_mask(protos[i], d.coeffs, d.boxes, (64, 96), True, values=True))


def test_empty_image_gives_no_detections_and_zero_masks():
    pred, protos = random_one2one(b=2)
    pred[1, 4:7] *= 0.2  # image 1: every score below conf
    e2e = SegmentTopKEnd2End(ConstSeg26(pred, protos, 3), conf=0.25, max_det=6, mask_resolution="proto")
    net = trtnn.define(e2e, e2e.inputs((64, 96), batch=2))
    got = Executor(net.network)({"images": torch.zeros(2, 3, 64, 96)})
    assert got["num_dets"][:, 0].tolist() == [6, 0]
    assert got["det_masks"].shape == (2, 6, 16, 24) and got["det_masks"][0].any()
    for name in OUTPUTS[1:]:
        assert not got[name][1].any(), name


def test_orig_size_boxes_and_masks():
    """scale_to_orig + mask_resolution='orig': boxes as ultralytics' scale_boxes, masks as process_mask_native on
    them, each image in the top-left of the canvas (rest zero)."""
    pred, protos = random_one2one(b=3, a=120, hw=(32, 32), seed=2)
    orig = torch.tensor([[40, 64], [64, 40], [32, 32]], dtype=torch.int32)
    e2e = SegmentTopKEnd2End(ConstSeg26(pred, protos, 3), conf=0.6, max_det=8, scale_to_orig=True,
                             mask_resolution="orig", orig_canvas=(70, 66))
    net = trtnn.define(e2e, e2e.inputs((32, 32), batch=3))
    got = Executor(net.network)({"images": torch.zeros(3, 3, 32, 32), "orig_size": orig})
    assert got["det_masks"].shape == (3, 8, 70, 66)
    for i, (d, (h0, w0)) in enumerate(zip(sp.end2end_seg(pred, 3, 0.6, 8), orig.tolist())):
        n = len(d.scores)
        boxes = pp.scale_boxes((32, 32), d.boxes, (h0, w0), pp.letterbox_ratio_pad((h0, w0), (32, 32)))
        torch.testing.assert_close(got["det_boxes"][i, :n], boxes, atol=1e-3, rtol=0)
        values = sp.process_mask_native(protos[i], d.coeffs, got["det_boxes"][i, :n], (h0, w0), values=True)
        assert_masks(got["det_masks"][i, :n, :h0, :w0], values)
        assert not got["det_masks"][i, :, h0:].any() and not got["det_masks"][i, :, :, w0:].any()
        assert n and got["det_masks"][i, :n].any()


def test_fp16_dynamic_batch_runtime_threshold_orig_size():
    """fp16 network, dynamic batch (1..3, run with 2), conf and orig_size as inputs: equal to the reference on the
    network's own raw outputs; boxes mapped to the originals, masks (at the input size) from the input boxes."""
    _, model = pair(seed=7)
    e2e = SegmentTopKEnd2End(model, max_det=10, preprocess=Preprocess(), runtime_thresholds=True, scale_to_orig=True)
    net = trtnn.define(e2e, e2e.inputs((64, 64), max_batch=3), dtype="fp16", debug_outputs=["model"])
    img = torch.randint(0, 256, (2, 64, 64, 3), generator=torch.Generator().manual_seed(2), dtype=torch.uint8)
    orig = torch.tensor([[48, 64], [128, 100]], dtype=torch.int32)
    got = Executor(net.network)({"images": img, "conf_thres": torch.tensor([0.35]), "orig_size": orig})
    pred, protos = raw(got, net)
    dets = sp.end2end_seg(pred, 3, 0.35, 10)
    assert got["det_masks"].shape == (2, 10, 64, 64) and all(len(d.scores) for d in dets)
    mapped = [sp.SegDetections(pp.scale_boxes((64, 64), d.boxes, hw, pp.letterbox_ratio_pad(hw, (64, 64))), *d[1:])
              for d, hw in zip(dets, orig.tolist())]
    check(got, mapped, 10, lambda i, d: sp.process_mask(protos[i], dets[i].coeffs, dets[i].boxes, (64, 64), True,
                                                         values=True))


def test_registry_and_task_table(tmp_path):
    """yolo26{n..x}-seg registered (nc read off the checkpoint); a yolo26 segmentation checkpoint given to yolo26n
    names yolo26n-seg, a detection one given to yolo26n-seg names yolo26n."""
    assert [n for n in models.SPECS if n.startswith("yolo26") and n.endswith("-seg")] == [
        f"yolo26{s}-seg" for s in "nsmlx"]
    s = models.spec("yolo26n-seg")
    assert s.task.name == "segment" and s.end2end_defaults["head"] is None  # the model's own branch
    assert s.end2end_defaults["mask_resolution"] == "input"
    trtnn.save_checkpoint(yolo26_seg("n", nc=2).state_dict(), str(tmp_path / "seg.pt"))
    trtnn.save_checkpoint(models.yolo26("n", nc=2).state_dict(), str(tmp_path / "det.pt"))
    assert models.from_checkpoint("yolo26n-seg", str(tmp_path / "seg.pt")).model[-1].nc == 2
    with pytest.raises(ConfigError, match="yolo26n: the checkpoint holds a segmentation model; use yolo26n-seg"):
        models.from_checkpoint("yolo26n", str(tmp_path / "seg.pt"))
    with pytest.raises(ConfigError, match="yolo26s-seg: the checkpoint holds a detection model; use yolo26s"):
        models.from_checkpoint("yolo26s-seg", str(tmp_path / "det.pt"))
    assert "x1, y1, x2, y2" in s.task.raw_outputs["output0"]
    assert "32 mask coefficients" in s.task.raw_outputs["output0"]


def test_cli_builds_an_fp16_end2end_engine(tmp_path, capsys):
    """`trtnn build yolo26n-seg --weights X.pt --end2end` at 160x160, fp16: TensorRT-RTX builds it; the sidecar
    says segment and documents det_masks."""
    trtnn.save_checkpoint(yolo26_seg("n", nc=3).state_dict(), str(tmp_path / "w.pt"))
    code = cli.main(["build", "yolo26n-seg", "--weights", str(tmp_path / "w.pt"), "--imgsz", "160", "--end2end",
                     "--preprocess", "--max-det", "20", "--mask-resolution", "proto", "--dtype", "fp16",
                     "-o", str(tmp_path / "s.plan")])
    out = capsys.readouterr()
    assert code == 0, out.err
    for line in ("input  images: 1x160x160x3 uint8", "output num_dets: 1x1 int32", "output det_boxes: 1x20x4 fp32",
                 "output det_masks: 1x20x40x40 uint8"):
        assert line in out.out, out.out
    meta = json.loads((tmp_path / "s.plan.json").read_text())
    assert meta["task"] == "segment" and meta["thresholds"] == {"conf": 0.25, "max_det": 20, "runtime": False}
    assert [o["name"] for o in meta["outputs"]] == OUTPUTS and "process_mask" in meta["outputs"][-1]["meaning"]
