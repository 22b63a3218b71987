"""ClassifyEnd2End / ClassifyPreprocess (trtnn/models/yolo/tasks/classify.py): ultralytics' classify preprocessing against a
torch implementation of torchvision's Resize (antialiased bilinear, rounded to uint8) + CenterCrop, softmax
probabilities and top 5 against torch, ties and fewer than 5 classes."""
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

import trtnn  # noqa: E402
from trtnn.errors import ConfigError, ShapeError  # noqa: E402
from trtnn.models.yolo.tasks import ClassifyEnd2End  # noqa: E402
from trtnn.models.vision import ClassifyPreprocess, resize_crop_sizes  # noqa: E402
from trtnn.reference import Executor  # noqa: E402


def torch_classify_transform(img_bgr_hwc: torch.Tensor, crop_hw) -> torch.Tensor:
    """uint8 [B, H, W, 3] BGR -> float [B, 3, *crop_hw]: RGB, torchvision-style Resize (shortest side for a square
    crop, long side int(size * long / short)) with antialiased bilinear on uint8 (rounded), CenterCrop, / 255."""
    x = img_bgr_hwc.flip(-1).permute(0, 3, 1, 2).double()
    h, w = x.shape[2:]
    ch, cw = crop_hw
    if ch != cw:
        size = (ch, cw)
    else:
        size = (ch, int(ch * w / h)) if h <= w else (int(cw * h / w), cw)
    y = torch.nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
    y = y.round().clamp(0, 255)
    top, left = int(round((size[0] - ch) / 2.0)), int(round((size[1] - cw) / 2.0))
    return (y[:, :, top:top + ch, left:left + cw] / 255).float()


def images(b, h, w, seed):
    """Smooth-ish uint8 BGR images (a gradient plus noise), so resizing matters."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    base = torch.stack([yy, xx, (yy + xx) / 2], -1) * 200
    return (base + torch.rand(b, h, w, 3, generator=g) * 55).to(torch.uint8)


class Pre(trtnn.Module):
    def __init__(self, pre):
        super().__init__()
        self.pre = pre

    def forward(self, x):
        return self.pre(x)


@pytest.mark.parametrize("src,crop", [((37, 53), (24, 24)), ((61, 40), (32, 32)), ((20, 30), (32, 32)),
                                      ((50, 50), (24, 40))], ids=["wide-down", "tall-down", "upscale", "non-square"])
def test_preprocess_matches_torch(src, crop):
    img = images(2, *src, seed=1)
    net = trtnn.define(Pre(ClassifyPreprocess("NHWC", True, src, crop)), [trtnn.Input("images", (2, *src, 3),
                                                                                      torch.uint8)])
    got = Executor(net.network)({"images": img})["output"]
    want = torch_classify_transform(img, crop)
    assert got.shape == want.shape == (2, 3, *crop)
    diff = (got - want).abs()
    assert diff.max() <= 1 / 255 + 1e-6  # a rounding tie may land on the other integer
    assert (diff > 1e-6).float().mean() < 0.01


def test_resize_crop_sizes_follow_torchvision():
    assert resize_crop_sizes((480, 640), (224, 224)) == ((224, 298), (0, 37))
    assert resize_crop_sizes((640, 480), (224, 224)) == ((298, 224), (37, 0))
    assert resize_crop_sizes((100, 101), (64, 64)) == ((64, 64), (0, 0))  # int(64 * 101 / 100) = 64
    assert resize_crop_sizes((480, 640), (224, 320)) == ((224, 320), (0, 0))  # non-square: resized to it


def test_preprocess_without_resize_is_rgb_over_255():
    img = images(1, 16, 16, seed=2)
    net = trtnn.define(Pre(ClassifyPreprocess("NHWC", True)), [trtnn.Input("images", (1, 16, 16, 3), torch.uint8)])
    got = Executor(net.network)({"images": img})["output"]
    assert torch.equal(got, img.flip(-1).permute(0, 3, 1, 2).float() / 255)


class FixedProbs(trtnn.Module):
    """A stand-in classifier: softmax over the image's first row (so tests choose the probabilities)."""

    def forward(self, x):
        return x[:, 0, 0, :].softmax(1)


@pytest.mark.parametrize("nc", [12, 3])
def test_top5_ties_in_class_order(nc):
    logits = torch.tensor([[0.0, 2, 1, 2, 2, 1, 2, 0, 3, 2, 1, 0][:nc], [1.0] * nc])
    e2e = ClassifyEnd2End(FixedProbs())
    net = trtnn.define(e2e, [trtnn.Input("images", (2, 3, 1, nc))])
    out = Executor(net.network)({"images": logits.reshape(2, 1, 1, nc).expand(2, 3, 1, nc).contiguous()})
    assert [o.name for o in net.outputs] == ["probs", "top5_classes", "top5_scores"]
    probs = logits.softmax(1)
    k = min(5, nc)
    want = torch.sort(probs, dim=1, descending=True, stable=True).indices[:, :k]
    assert out["top5_classes"].dtype == torch.int32 and torch.equal(out["top5_classes"].long(), want)
    torch.testing.assert_close(out["top5_scores"], probs.gather(1, want))
    torch.testing.assert_close(out["probs"], probs)
    if nc == 12:
        assert out["top5_classes"][0].tolist() == [8, 1, 3, 4, 6] and out["top5_classes"][1].tolist() == [0, 1, 2, 3, 4]


def test_yolov8n_cls_end_to_end():
    """uint8 BGR 40x56 images resized and cropped to 32x32 in the engine, then a randomized yolov8n-cls: the
    probabilities equal torch's on the torch-preprocessed images, the top 5 their stable descending order."""
    import refmodels
    from trtnn.models.yolo import yolov8_cls

    r = refmodels.randomize_bn(refmodels.yolov8_cls("n", nc=10), seed=9)
    model = yolov8_cls("n", nc=10)
    model.load_state_dict(r.state_dict())
    e2e = ClassifyEnd2End(model, ClassifyPreprocess("NHWC", True, (40, 56), (32, 32)))
    net = trtnn.define(e2e, e2e.inputs((32, 32), max_batch=3))
    img = images(3, 40, 56, seed=10)
    out = Executor(net.network)({"images": img})
    with torch.no_grad():
        probs = r(torch_classify_transform(img, (32, 32)))
    torch.testing.assert_close(out["probs"], probs, atol=1e-4, rtol=1e-3)
    order = torch.sort(out["probs"], dim=1, descending=True, stable=True).indices
    assert torch.equal(out["top5_classes"].long(), order[:, :5])


def test_bad_preprocess_arguments():
    with pytest.raises(ConfigError, match="give both src_hw and crop_hw"):
        ClassifyPreprocess(src_hw=(10, 10))
    with pytest.raises(ConfigError, match=r"crop_hw must be \(height, width\) > 0, got \(0, 5\)"):
        ClassifyPreprocess(src_hw=(10, 10), crop_hw=(0, 5))
    with pytest.raises(ShapeError, match=r"the preprocess crops to \(32, 32\), the network's size is \(64, 64\)"):
        ClassifyEnd2End(FixedProbs(), ClassifyPreprocess(src_hw=(40, 40), crop_hw=(32, 32))).inputs((64, 64))
