"""CenterNet end to end in the engine: decode equals CenterNet's ctdet_decode, the mapping back to the original
image equals its affine transform_preds, preprocessing follows its BGR mean/std, thresholds, errors, CLI."""
import numpy as np
import pytest
import torch

import trtnn
from harness import rel_err
from refmodels.centernet import ctdet_detect
from trtnn.models.vision import COCO_MEAN, COCO_STD, ctdet_preprocess
from trtnn.models.centernet import CtdetEnd2End
from trtnn.reference import Executor

C, H, W = 3, 16, 20


class Heads(trtnn.Module):
    """Stands in for a CenterNet: the input's channels are the raw heads (hm, wh, reg)."""

    def forward(self, x):
        return {"hm": x[:, :C], "wh": x[:, C:C + 2], "reg": x[:, C + 2:]}


def run(x, K=20, conf=0.3, orig_size=None, runtime_conf=None):
    e2e = CtdetEnd2End(Heads(), K=K, conf=conf, runtime_thresholds=runtime_conf is not None,
                       scale_to_orig=orig_size is not None)
    net = trtnn.define(e2e, _inputs(e2e, x.shape[0]))
    feed = {"images": x}
    if runtime_conf is not None:
        feed["conf_thres"] = torch.tensor([runtime_conf])
    if orig_size is not None:
        feed["orig_size"] = torch.tensor(orig_size, dtype=torch.int32)
    return Executor(net)(feed)


def _inputs(e2e, batch=1):
    """e2e.inputs, with the images input carrying the C + 4 head channels."""
    ins = e2e.inputs((H, W), batch=batch)
    return [trtnn.Input("images", (batch, C + 4, H, W))] + ins[1:]


def reference(x, K=20):
    return ctdet_detect({"hm": x[:, :C], "wh": x[:, C:C + 2], "reg": x[:, C + 2:]}, K=K)


def heads(seed=0, b=2):
    g = torch.Generator().manual_seed(seed)
    hm = torch.randn(b, C, H, W, generator=g) * 2
    wh = torch.rand(b, 2, H, W, generator=g) * 8
    reg = torch.rand(b, 2, H, W, generator=g)
    return torch.cat([hm, wh, reg], 1)


def check(out, ref, conf, K=20):
    for i in range(ref.shape[0]):
        keep = ref[i, :, 4] > conf
        n = int(keep.sum())
        assert int(out["num_dets"][i, 0]) == n
        assert out["det_boxes"][i, :n].sub(ref[i, :n, :4]).abs().max().item() <= 1e-4 if n else True
        assert torch.equal(out["det_scores"][i, :n], ref[i, :n, 4])
        assert torch.equal(out["det_classes"][i, :n], ref[i, :n, 5].int())
        assert not out["det_boxes"][i, n:].any() and not out["det_scores"][i, n:].any()
        assert not out["det_classes"][i, n:].any()
    assert out["num_dets"].dtype == out["det_classes"].dtype == torch.int32
    assert tuple(out["det_boxes"].shape) == (ref.shape[0], K, 4)


@pytest.mark.parametrize("conf", [0.0, 0.3, 0.7])
def test_decode_equals_ctdet_decode(conf):
    x = heads()
    check(run(x, conf=conf), reference(x), conf)


def test_plateaus_few_peaks_and_nothing_above_conf():
    x = heads(1, b=1)
    x[:, :C] = -12.0  # almost no score anywhere ...
    x[0, 1, 4, 4] = x[0, 1, 4, 5] = 3.0  # ... but a two-pixel plateau: both pixels are peaks, as in the original
    x[0, 2, 10, 10], x[0, 0, 0, 19] = 2.0, 1.0  # and two single peaks (one in a corner)
    out, ref = run(x), reference(x)
    assert int(out["num_dets"][0, 0]) == 4
    got = sorted(out["det_boxes"][0, :4].tolist())
    assert torch.allclose(torch.tensor(got), torch.tensor(sorted(ref[0, :4, :4].tolist())), atol=1e-5)
    assert out["det_classes"][0, :4].tolist() == [1, 1, 2, 0]  # score order, ties by (class, y, x)
    assert out["det_boxes"][0, 0, 0] < out["det_boxes"][0, 1, 0]  # the plateau: x=4 before x=5
    none = run(x, conf=0.99)
    assert int(none["num_dets"][0, 0]) == 0 and not none["det_boxes"].any() and not none["det_scores"].any()


def test_runtime_conf_input():
    x = heads(2)
    ref = reference(x)
    for conf in (0.2, 0.8):
        check(run(x, conf=0.5, runtime_conf=conf), ref, conf)


def _affine(c, s, out_w, out_h, inv):
    """CenterNet's get_affine_transform(c, s, 0, (out_w, out_h), inv) from its three points (no OpenCV)."""
    src = np.array([c, c + np.array([0, -0.5 * s]), c + np.array([-0.5 * s, -0.5 * s])], np.float64)
    d0 = np.array([out_w * 0.5, out_h * 0.5])
    dst = np.array([d0, d0 + np.array([0, -0.5 * out_w]), d0 + np.array([-0.5 * out_w, -0.5 * out_w])], np.float64)
    a, b = (dst, src) if inv else (src, dst)
    return np.linalg.solve(np.c_[a, np.ones(3)], b).T  # 2x3: b = M @ [a, 1]


def test_boxes_map_back_through_the_inverse_affine_warp():
    x = heads(3)
    sizes = [(480, 640), (700, 427)]
    out = run(x, conf=0.0, orig_size=sizes)
    ref = reference(x)
    for i, (h0, w0) in enumerate(sizes):
        trans = _affine(np.array([w0 / 2.0, h0 / 2.0]), max(h0, w0), W, H, inv=True)
        pts = ref[i, :, :4].double().numpy().reshape(-1, 2)
        want = (np.c_[pts, np.ones(len(pts))] @ trans.T).reshape(-1, 4)
        assert np.abs(out["det_boxes"][i].double().numpy() - want).max() <= 1e-3


def test_preprocess_keeps_bgr_and_uses_the_coco_mean_std():
    class Echo(trtnn.Module):
        def __init__(self):
            super().__init__()
            self.pre = ctdet_preprocess("NHWC", bgr=True)

        def forward(self, img):
            return self.pre(img)

    img = torch.randint(0, 256, (1, 5, 6, 3), dtype=torch.uint8)
    net = trtnn.define(Echo(), [trtnn.Input("img", img.shape, torch.uint8)])
    got = next(iter(Executor(net)({"img": img}).values()))
    want = ((img.float() / 255 - torch.tensor(COCO_MEAN)) / torch.tensor(COCO_STD)).permute(0, 3, 1, 2)
    assert rel_err(got, want) <= 1e-6
    rgb = ctdet_preprocess("NHWC", bgr=False)  # RGB images are swapped to the model's BGR
    assert rgb.bgr is False and rgb.model_bgr is True


def test_bad_heads_and_k_are_rejected():
    class Bad(trtnn.Module):
        def forward(self, x):
            return {"hm": x, "wh": x}

    e2e = CtdetEnd2End(Bad())
    with pytest.raises(trtnn.ShapeError, match=r"wh / reg \[B, 2, H, W\]; got 'images' \(1, 7, 16, 20\)") as e:
        trtnn.define(e2e, _inputs(e2e))
    assert "centernet/decode.py" in str(e.value) and "ctdet_decode(heads" in str(e.value)  # the calling line, not the raise
    e2e = CtdetEnd2End(Heads(), K=C * H * W + 1)
    with pytest.raises(trtnn.ShapeError, match=r"K=961 must be in \[1, 960\]"):
        trtnn.define(e2e, _inputs(e2e))


def test_cli_builds_centernet_end2end_from_a_centernet_checkpoint(tmp_path):
    """A checkpoint as CenterNet saves it ({'epoch', 'state_dict'} with DataParallel's 'module.'), 3 classes: the
    CLI reads the heads off it and builds the end-to-end engine; --iou (a YOLO option) is refused."""
    import subprocess
    import sys

    from refmodels.centernet import centernet_resnet

    state = {f"module.{k}": v for k, v in centernet_resnet(18, num_classes=3).state_dict().items()}
    torch.save({"epoch": 70, "state_dict": state}, tmp_path / "model_last.pth")
    cli = [sys.executable, "-m", "trtnn.cli", "build", "centernet_res18", "--weights", str(tmp_path / "model_last.pth"),
           "--imgsz", "64x96", "--end2end", "--preprocess", "--orig-size", "--runtime-thresholds", "--max-det", "50",
           "-o", str(tmp_path / "c.plan")]
    out = subprocess.run(cli, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    for line in ("input  images: 1x64x96x3 uint8", "input  conf_thres: 1 fp32", "input  orig_size: 1x2 int32",
                 "output num_dets: 1x1 int32", "output det_boxes: 1x50x4 fp32", "output det_classes: 1x50 int32"):
        assert line in out.stdout, out.stdout
    out = subprocess.run(cli[:-2] + ["--iou", "0.5", "-o", str(tmp_path / "x.plan")], capture_output=True, text=True)
    assert out.returncode == 2 and "--iou and --pre-nms-topk are for YOLO models" in out.stderr


def test_dla34_dcn_end_to_end_equals_centernet_on_uint8_images():
    """uint8 BGR images -> trtnn CtdetEnd2End(DLA-34 DCN) == CenterNet: normalize, model, ctdet_decode, then the
    inverse affine to the original size (every detection above conf; ordering checked by score)."""
    from refmodels import randomize_bn
    from refmodels.centernet import centernet_dla34_dcn
    from test_models_centernet import randomize_offsets

    torch.manual_seed(0)
    ref = randomize_bn(centernet_dla34_dcn(num_classes=3), seed=1).eval()
    randomize_offsets(ref, seed=2)
    model = trtnn.models.get("centernet_dla34")(num_classes=3)
    model.load_state_dict(ref.state_dict(), strict=True)
    e2e = CtdetEnd2End(model, K=100, conf=0.1, preprocess=ctdet_preprocess("NHWC", bgr=True), scale_to_orig=True)
    net = trtnn.define(e2e, e2e.inputs((64, 96), batch=2))
    images = torch.randint(0, 256, (2, 64, 96, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(3))
    sizes = [(480, 720), (300, 200)]
    out = Executor(net)({"images": images, "orig_size": torch.tensor(sizes, dtype=torch.int32)})
    x = ((images.float() / 255 - torch.tensor(COCO_MEAN)) / torch.tensor(COCO_STD)).permute(0, 3, 1, 2)
    with torch.no_grad():
        (heads_out,) = ref(x)
    dets = ctdet_detect(heads_out, K=100)
    for i, (h0, w0) in enumerate(sizes):
        keep = dets[i, :, 4] > 0.1
        n = int(keep.sum())
        assert n > 3 and int(out["num_dets"][i, 0]) == n
        trans = _affine(np.array([w0 / 2.0, h0 / 2.0]), max(h0, w0), 24, 16, inv=True)
        pts = dets[i, :n, :4].double().numpy().reshape(-1, 2)
        want = (np.c_[pts, np.ones(len(pts))] @ trans.T).reshape(-1, 4)
        err = np.abs(out["det_boxes"][i, :n].double().numpy() - want).max() / (max(h0, w0) / 24)  # map units
        assert err <= 1e-4
        assert torch.allclose(out["det_scores"][i, :n], dets[i, :n, 4], atol=1e-5)
        assert out["det_classes"][i, :n].tolist() == dets[i, :n, 5].int().tolist()
