"""trtnn.models against the PyTorch reference implementations in tests/refmodels.

(a) state_dicts: the reference's (BN stats randomized) loads with strict=True; keys/shapes equal keys/*.keys.
(b) parameter counts of every scale (construction only: trtnn Parameters materialize lazily).
(c) numerics: the network definition run by the CPU executor (trtnn.reference) vs the torch forward, fp32.
    Metric: rel_err(a, b) = max|a - b| / max|b|; detection outputs are split into boxes and scores, so the
    pixel-sized box values do not hide errors in the [0, 1] scores. Bound: 1e-4.
(d) real TensorRT-RTX engine builds (fp16 plan smaller than fp32).
(e) UNet's in-engine mask vs torch's argmax / sigmoid > 0.5.
"""
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

import refmodels as ref  # noqa: E402
import trtnn  # noqa: E402
import trtnn.nn as nn  # noqa: E402
from trtnn.models import MODELS, UNet, get, yolo11, yolov5, yolov8  # noqa: E402
from trtnn.models.yolo import yolo11_seg, yolov8_seg  # noqa: E402
from trtnn.reference import Executor  # noqa: E402
from harness import parse_keys  # noqa: E402

TOL = 1e-4

PAIRS = {  # name -> (reference factory, trtnn factory)
    "unet": (lambda: ref.unet(3, 2, False), lambda: UNet(3, 2, False)),
    "unet_bilinear": (lambda: ref.unet(3, 2, True), lambda: UNet(3, 2, True)),
    "yolov8n": (lambda: ref.yolov8("n"), lambda: yolov8("n")),
    "yolo11n": (lambda: ref.yolo11("n"), lambda: yolo11("n")),
    "yolov5s": (lambda: ref.yolov5("s"), lambda: yolov5("s")),
    "yolov8n-seg": (lambda: ref.yolov8_seg("n"), lambda: yolov8_seg("n")),
    "yolo11n-seg": (lambda: ref.yolo11_seg("n"), lambda: yolo11_seg("n")),
}


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a.double() - b.double()).abs().max() / b.double().abs().max()).item()


# ------------------------------------------------------------------------------------------- (a) state_dict
@pytest.mark.parametrize("name", list(PAIRS))
def test_loads_reference_state_dict(name):
    make_ref, make = PAIRS[name]
    sd = ref.randomize_bn(make_ref(), seed=1).state_dict()
    model = make()
    model.load_state_dict(sd, strict=True)
    got = model.state_dict()
    assert [(k, tuple(v.shape)) for k, v in got.items()] == parse_keys(name)
    assert all(torch.equal(got[k], v) for k, v in sd.items())


def test_registry():
    assert {"unet", "unet_bilinear", "yolov8n", "yolo11s", "yolov5m"} <= set(MODELS)
    assert get("yolov8n")(nc=3).model[-1].nc == 3 and get("unet")(n_classes=1).n_classes == 1
    with pytest.raises(KeyError, match="yolov9"):
        get("yolov9")


# ------------------------------------------------------------------------------------------- (b) params
PARAMS = {  # MODELS.md; YOLO11 s/m/l/x from the summary comments of ultralytics' yolo11.yaml
    "yolov8n": 3_157_200, "yolov8s": 11_166_560, "yolov8m": 25_902_640, "yolov8l": 43_691_520, "yolov8x": 68_229_648,
    "yolo11n": 2_624_080, "yolo11s": 9_458_752, "yolo11m": 20_114_688, "yolo11l": 25_372_160, "yolo11x": 56_966_176,
    "yolov5n": 1_872_157, "yolov5s": 7_235_389, "yolov5m": 21_190_557, "yolov5l": 46_563_709, "yolov5x": 86_749_405,
    "unet": 31_037_698, "unet_bilinear": 17_263_042,
}


@pytest.mark.parametrize("name", list(PARAMS))
def test_param_count(name):
    assert sum(p.numel() for p in get(name)().parameters()) == PARAMS[name]


# ------------------------------------------------------------------------------------------- (c) numerics
def run_both(ref_model, model, shape, seed=0):
    """Load the reference's weights, define the trtnn network, run both; returns (trtnn outputs, torch out, net)."""
    model.load_state_dict(ref_model.state_dict(), strict=True)
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(seed))
    net = trtnn.define(model, [trtnn.Input("images", shape)], dtype="fp32")
    out = Executor(net.network)({"images": x})
    with torch.no_grad():
        y = ref_model(x)
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert len(net.folded) == n_bn  # every BatchNorm folded into its conv
    return out, y, net


@pytest.mark.parametrize("bilinear,n_classes,hw", [(False, 2, (75, 100)), (True, 1, (45, 67))])
def test_unet_numerics_and_mask(bilinear, n_classes, hw):
    """Odd sizes exercise Up's F.pad; n_classes=2 -> argmax mask [B,H,W], 1 -> sigmoid > 0.5 mask [B,1,H,W]."""
    r = ref.randomize_bn(ref.unet(3, n_classes, bilinear), seed=2)
    out, y, _ = run_both(r, UNet(3, n_classes, bilinear, output="mask"), (1, 3, *hw))
    logits, mask = out["logits"], out["mask"]
    assert logits.shape == y.shape == (1, n_classes, *hw) and rel_err(logits, y) <= TOL
    expect = y.argmax(1) if n_classes > 1 else (y.sigmoid() > 0.5)
    margin = (y[:, 0] - y[:, 1]).abs() if n_classes > 1 else y.abs().squeeze(1)
    assert mask.dtype == torch.int32 and mask.shape == expect.shape
    sure = (margin > 1e-4 * y.abs().max()).view(expect.shape)  # undecidable near-ties left out
    assert torch.equal(mask[sure], expect.int()[sure]) and sure.float().mean() > 0.99


DETECT_CASES = {  # name -> (reference, trtnn model, input shape)
    "yolov8n": (lambda: ref.yolov8("n"), lambda: yolov8("n"), (2, 3, 128, 160)),
    "yolo11n_nc5": (lambda: ref.yolo11("n", 5), lambda: yolo11("n", 5), (1, 3, 96, 160)),
    "yolov5s_nc3": (lambda: ref.yolov5("s", 3), lambda: yolov5("s", 3), (1, 3, 128, 96)),
}


@pytest.mark.parametrize("name", list(DETECT_CASES))
def test_detect_numerics(name):
    make_ref, make, shape = DETECT_CASES[name]
    r = ref.randomize_bn(make_ref(), seed=3)
    if name.startswith("yolov5"):  # anchors must come from the loaded buffer, not from the yaml
        r.model[-1].anchors.mul_(1.25)
    out, y, net = run_both(r, make(), shape)
    (got,) = out.values()
    h, w = shape[2:]
    n = sum((h // s) * (w // s) for s in (8, 16, 32))
    if name.startswith("yolov5"):  # [B, 3 * n, 5 + nc]: (cx, cy, w, h) then obj, cls
        assert got.shape == y.shape == (shape[0], 3 * n, 8)
        boxes, scores = (got[..., :4], y[..., :4]), (got[..., 4:], y[..., 4:])
    else:  # [B, 4 + nc, n]: xywh then cls
        assert got.shape == y.shape and y.shape[2] == n
        boxes, scores = (got[:, :4], y[:, :4]), (got[:, 4:], y[:, 4:])
    assert rel_err(*boxes) <= TOL and rel_err(*scores) <= TOL
    assert {"model.9", f"model.{len(r.model) - 1}"} <= set(net.module_outputs)  # layers named by module path


@pytest.mark.parametrize("make_ref,make,shape", [
    (lambda: ref.yolov8_seg("n", 3), lambda: yolov8_seg("n", 3), (2, 3, 96, 128)),
    (lambda: ref.yolo11_seg("n"), lambda: yolo11_seg("n"), (1, 3, 64, 96)),
], ids=["yolov8n-seg_nc3", "yolo11n-seg"])
def test_segment_numerics(make_ref, make, shape):
    """Segment head: detect output + 32 mask coefficients per anchor, and the prototypes at 1/4 resolution."""
    r = ref.randomize_bn(make_ref(), seed=5)
    model = make()
    model.load_state_dict(r.state_dict())
    net = trtnn.define(model, [trtnn.Input("images", shape)])
    got = Executor(net.network)({"images": torch.randn(shape, generator=torch.Generator().manual_seed(6))})
    with torch.no_grad():
        pred, protos = r(torch.randn(shape, generator=torch.Generator().manual_seed(6)))
    h, w = shape[2:]
    nc = r.model[-1].nc
    assert pred.shape == (shape[0], 4 + nc + 32, sum((h // s) * (w // s) for s in (8, 16, 32)))
    assert protos.shape == (shape[0], 32, h // 4, w // 4)
    assert [o.name for o in net.outputs] == ["output0", "output1"]
    assert got["output0"].shape == pred.shape and got["output1"].shape == protos.shape
    for a, b in ((got["output0"][:, :4], pred[:, :4]), (got["output0"][:, 4:], pred[:, 4:]), (got["output1"], protos)):
        assert rel_err(a, b) <= TOL


# ------------------------------------------------------------------------------------------- (d) engines
@pytest.mark.parametrize("name,make,shape", [
    ("yolov8n", lambda: yolov8("n"), (1, 3, 320, 320)),
    ("unet_bilinear", lambda: UNet(3, 2, bilinear=True, output="mask"), (1, 3, 64, 64)),
])
def test_build_engine(name, make, shape, tmp_path):
    model = make()
    sizes = {}
    for dtype in ("fp16", "fp32"):
        engine = trtnn.build(model, [trtnn.Input("images", shape)], dtype=dtype)
        assert engine.nbytes > 0
        sizes[dtype] = engine.nbytes
    path = tmp_path / f"{name}.engine"
    engine.save(str(path))
    assert path.stat().st_size == sizes["fp32"]
    assert sizes["fp16"] < sizes["fp32"]
