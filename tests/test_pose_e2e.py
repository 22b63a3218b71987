"""PoseEnd2End (trtnn/models/yolo/tasks/pose.py) against the reference pose post-processing in tests/refmodels: the same
detections and keypoints, zero rows past num_dets, ties, empty images, more candidates than max_det, keypoints mapped
back to the original images and clipped; a real yolov8n-pose model end to end."""
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

import trtnn  # noqa: E402
from refmodels import detect_postprocess as pp  # noqa: E402
from refmodels import pose_postprocess as ppp  # noqa: E402
from test_detect import check as check_detections  # noqa: E402
from trtnn.errors import ShapeError  # noqa: E402
from trtnn.models.vision import Preprocess  # noqa: E402
from trtnn.models.yolo.tasks import PoseEnd2End  # noqa: E402
from trtnn.reference import Executor  # noqa: E402

NAMES = ["num_dets", "det_boxes", "det_scores", "det_classes", "det_keypoints"]


class RawPred(trtnn.Module):
    """A stand-in pose model: 'images' [B, C, H, W] *are* the raw prediction [B, C, H * W]."""

    def forward(self, x):
        return x.flatten(2)


def run_e2e(pred, hw, kpt_shape, orig=None, **kw):
    """pred [B, C, A] as images [B, C, *hw] through PoseEnd2End on the CPU executor."""
    b, c, _ = pred.shape
    e2e = PoseEnd2End(RawPred(), kpt_shape, scale_to_orig=orig is not None, **kw)
    inputs = [trtnn.Input("images", (b, c, *hw))]
    feeds = {"images": pred.reshape(b, c, *hw)}
    if orig is not None:
        inputs.append(trtnn.Input("orig_size", (b, 2), torch.int32))
        feeds["orig_size"] = orig
    net = trtnn.define(e2e, inputs)
    assert [o.name for o in net.outputs] == NAMES
    return Executor(net.network)(feeds)


def make_pred(b, a, nc, kpt_shape, seed, img=64, objects=6):
    """Boxes jittered around a few objects (xywh), scores peaked on each object's class, keypoints near the box."""
    g = torch.Generator().manual_seed(seed)
    k, d = kpt_shape
    centre = torch.rand(b, objects, 2, generator=g) * img
    pick = torch.randint(0, objects, (b, a), generator=g)
    xy = torch.gather(centre, 1, pick.unsqueeze(-1).expand(b, a, 2)) + torch.randn(b, a, 2, generator=g) * 2
    wh = torch.rand(b, a, 2, generator=g) * 20 + 4
    scores = torch.rand(b, a, nc, generator=g) * 0.3
    scores.scatter_(2, (pick % nc).unsqueeze(-1), torch.rand(b, a, 1, generator=g) * 0.7 + 0.3)
    kpts = torch.cat([xy.unsqueeze(2) + torch.randn(b, a, k, 2, generator=g) * 30,
                      torch.rand(b, a, k, d - 2, generator=g)], -1).reshape(b, a, k * d)
    return torch.cat([xy, wh, scores, kpts], -1).transpose(1, 2).contiguous()


def check(out, ref, max_det, kpt_shape):
    """test_detect's check (num_dets, boxes, scores, classes, zero padding), then keypoints within 1e-3 and zero past
    num_dets."""
    check_detections(out, ref, max_det)
    assert out["det_keypoints"].shape == (len(ref), max_det, *kpt_shape)
    assert out["det_keypoints"].dtype == torch.float32
    for i, det in enumerate(ref):
        n = len(det.scores)
        torch.testing.assert_close(out["det_keypoints"][i, :n], det.keypoints, atol=1e-3, rtol=0)
        assert not out["det_keypoints"][i, n:].any(), f"det_keypoints padding of image {i} is not zero"


@pytest.mark.parametrize("kpt_shape,seed", [((17, 3), 0), ((4, 2), 1)])
def test_matches_reference(kpt_shape, seed):
    pred = make_pred(2, 16 * 20, 3, kpt_shape, seed)
    out = run_e2e(pred, (16, 20), kpt_shape, conf=0.3, iou=0.5, max_det=50)
    ref = ppp.pose_non_max_suppression(pred, 3, kpt_shape, 0.3, 0.5, 50)
    assert all(len(d.scores) > 3 for d in ref)
    check(out, ref, 50, kpt_shape)


def test_more_candidates_than_max_det():
    pred = make_pred(1, 256, 2, (5, 3), seed=2, objects=40)
    out = run_e2e(pred, (16, 16), (5, 3), conf=0.25, iou=0.7, max_det=7)
    full = ppp.pose_non_max_suppression(pred, 2, (5, 3), 0.25, 0.7, 300)
    assert len(full[0].scores) > 7
    check(out, [ppp.PoseDetections(*(t[:7] for t in full[0]))], 7, (5, 3))


def test_empty_image_is_all_zero():
    pred = make_pred(2, 64, 2, (3, 3), seed=3)
    pred[1, 4:6] = 0.1  # image 1: every score below conf
    out = run_e2e(pred, (8, 8), (3, 3), conf=0.25, max_det=10)
    assert out["num_dets"][1, 0].item() == 0 and out["num_dets"][0, 0].item() > 0
    assert not out["det_keypoints"][1].any() and not out["det_boxes"][1].any()


def test_equal_scores_keep_anchor_order():
    """Identical boxes of equal score: the first anchor wins, and its keypoints (not the twin's) come out."""
    pred = torch.zeros(1, 4 + 1 + 3, 4)
    pred[0, :4] = torch.tensor([[10.0, 10, 30, 30], [10, 10, 30, 30], [50, 50, 8, 8], [50, 50, 8, 8]]).t()
    pred[0, 4] = torch.tensor([0.9, 0.9, 0.6, 0.6])
    pred[0, 5:] = torch.tensor([[1.0, 2, 0.5], [3, 4, 0.25], [5, 6, 0.75], [7, 8, 0.125]]).t()
    out = run_e2e(pred, (2, 2), (1, 3), conf=0.25, iou=0.5, max_det=4)
    ref = ppp.pose_non_max_suppression(pred, 1, (1, 3), 0.25, 0.5, 4)
    check(out, ref, 4, (1, 3))
    assert out["det_keypoints"][0, :2, 0].tolist() == [[1.0, 2, 0.5], [5, 6, 0.75]]


@pytest.mark.parametrize("orig", [[[48, 64], [64, 40]], [[20, 100], [100, 20]]])
def test_keypoints_mapped_to_the_original_and_clipped(orig):
    pred = make_pred(2, 32 * 32, 2, (6, 3), seed=4, img=32)
    orig = torch.tensor(orig, dtype=torch.int32)
    out = run_e2e(pred, (32, 32), (6, 3), orig=orig, conf=0.3, iou=0.6, max_det=30)
    ref = []
    for det, hw in zip(ppp.pose_non_max_suppression(pred, 2, (6, 3), 0.3, 0.6, 30), orig.tolist()):
        ratio_pad = pp.letterbox_ratio_pad(hw, (32, 32))
        kpts = ppp.scale_keypoints(det.keypoints, hw, ratio_pad)
        ref.append(ppp.PoseDetections(pp.scale_boxes((32, 32), det.boxes, hw, ratio_pad), det.scores, det.classes,
                                      kpts))
        clipped = (det.keypoints[..., 0] < ratio_pad[1][0]) | (det.keypoints[..., 1] < ratio_pad[1][1])
        assert clipped.any() and (kpts[..., :2][clipped.unsqueeze(-1).expand(-1, -1, 2)] >= 0).all()
    check(out, ref, 30, (6, 3))
    assert (out["det_keypoints"][..., 0] <= orig[:, 1, None, None]).all()


def test_too_few_channels_for_kpt_shape():
    with pytest.raises(ShapeError, match=r"PoseEnd2End: the model's output has 20 channels, fewer than 4 boxes \+ "
                                         r"1 class \+ 17x3 keypoint values"):
        run_e2e(torch.rand(1, 20, 16), (4, 4), (17, 3))


def test_yolov8n_pose_end_to_end():
    """A randomized yolov8n-pose: uint8 BGR images -> engine network; the raw output equals torch's, and the
    detections with keypoints equal the reference post-processing of that output."""
    import refmodels
    from trtnn.models.yolo import yolov8_pose

    torch.manual_seed(7)
    r = refmodels.randomize_bn(refmodels.yolov8_pose("n", nc=2), seed=7)
    with torch.no_grad():  # raise the class logits so detections pass conf
        for seq in r.model[-1].cv3:
            seq[-1].bias.fill_(1.5)
    model = yolov8_pose("n", nc=2)
    model.load_state_dict(r.state_dict())
    e2e = PoseEnd2End(model, (17, 3), preprocess=Preprocess(), scale_to_orig=True, max_det=40, iou=0.5)
    net = trtnn.define(e2e, e2e.inputs((64, 96), batch=2), debug_outputs=["model"])
    img = torch.randint(0, 256, (2, 64, 96, 3), generator=torch.Generator().manual_seed(8), dtype=torch.uint8)
    orig = torch.tensor([[128, 192], [90, 100]], dtype=torch.int32)
    got = Executor(net.network)({"images": img, "orig_size": orig})
    with torch.no_grad():
        raw = r(img.flip(-1).permute(0, 3, 1, 2).float() / 255)
    got_raw = got[net.module_outputs["model"][0]]
    torch.testing.assert_close(got_raw, raw, atol=1e-3, rtol=1e-4)
    ref = []
    for det, hw in zip(ppp.pose_non_max_suppression(got_raw, 2, (17, 3), 0.25, 0.5, 40), orig.tolist()):
        ratio_pad = pp.letterbox_ratio_pad(hw, (64, 96))
        ref.append(ppp.PoseDetections(pp.scale_boxes((64, 96), det.boxes, hw, ratio_pad), det.scores, det.classes,
                                      ppp.scale_keypoints(det.keypoints, hw, ratio_pad)))
    assert all(len(d.scores) > 0 for d in ref)
    check(got, ref, 40, (17, 3))


def test_yolo26_pose_top_k_end_to_end():
    """YOLO26 pose, NMS-free: the one-to-one branch's raw output equals torch's; the detections and keypoints equal
    ultralytics' postprocess (its get_topk_index, keypoints gathered with the boxes) kept above a runtime conf (set
    between the 10th and 11th best scores of image 0), mapped back to the originals."""
    import refmodels
    from trtnn.models.yolo.tasks import PoseTopKEnd2End
    from trtnn.models.yolo import yolo26_pose

    torch.manual_seed(15)
    r = refmodels.randomize_bn(refmodels.yolo26_pose("n", nc=2), seed=15)
    with torch.no_grad():  # spread the class scores
        for seq in r.model[-1].one2one_cv3:
            seq[-1].weight.mul_(30)
    model = yolo26_pose("n", nc=2)
    model.load_state_dict(r.state_dict())
    e2e = PoseTopKEnd2End(model, (17, 3), max_det=20, preprocess=Preprocess(), runtime_thresholds=True,
                          scale_to_orig=True)
    net = trtnn.define(e2e, e2e.inputs((64, 64), max_batch=2), debug_outputs=["model"])
    assert [i.name for i in net.inputs] == ["images", "conf_thres", "orig_size"]
    img = torch.randint(0, 256, (2, 64, 64, 3), generator=torch.Generator().manual_seed(16), dtype=torch.uint8)
    orig = torch.tensor([[100, 80], [64, 128]], dtype=torch.int32)
    with torch.no_grad():
        raw = r(img.flip(-1).permute(0, 3, 1, 2).float() / 255)
    head = r.model[-1]
    best = head.get_topk_index(raw.permute(0, 2, 1)[..., 4:6], 20)[0][0, :, 0]
    conf = float(best[9] + best[10]) / 2
    got = Executor(net.network)({"images": img, "conf_thres": torch.tensor([conf]), "orig_size": orig})
    got_raw = got[net.module_outputs["model"][0]]
    torch.testing.assert_close(got_raw, raw, atol=1e-3, rtol=1e-4)
    boxes, scores, kpts = got_raw.permute(0, 2, 1).split([4, 2, 51], -1)
    top, cls, idx = head.get_topk_index(scores, 20)
    ref = []
    for i, hw in enumerate(orig.tolist()):
        keep = top[i, :, 0] > conf
        ratio_pad = pp.letterbox_ratio_pad(hw, (64, 64))
        b = pp.scale_boxes((64, 64), boxes[i, idx[i, :, 0]][keep], hw, ratio_pad)
        k = ppp.scale_keypoints(kpts[i, idx[i, :, 0]][keep].view(-1, 17, 3), hw, ratio_pad)
        ref.append(ppp.PoseDetections(b, top[i, keep, 0], cls[i, keep, 0].long(), k))
    assert len(ref[0].scores) == 10
    check(got, ref, 20, (17, 3))
