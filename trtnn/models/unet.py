"""milesial/Pytorch-UNet (unet/unet_parts.py + unet/unet_model.py), line by line in trtnn."""
from __future__ import annotations

from functools import partial
from typing import Any, Dict, Optional, Union

import torch

from .. import functional as F
from .. import nn
from ..errors import ConfigError, require_int
from ..graph.module import Module
from ..graph.tensor import Tensor
from .registry import ModelSpec, StateDict, TaskSpec, numel, register
from .vision.host import unet_preprocess


class DoubleConv(Module):
    """(convolution => [BN] => ReLU) * 2"""

    def __init__(self, in_channels: int, out_channels: int, mid_channels: Optional[int] = None) -> None:
        super().__init__()
        if not mid_channels:
            mid_channels = out_channels
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(mid_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x):
        return self.double_conv(x)


class Down(Module):
    """Downscaling with maxpool then double conv"""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))

    def forward(self, x):
        return self.maxpool_conv(x)


class Up(Module):
    """Upscaling then double conv"""

    def __init__(self, in_channels: int, out_channels: int, bilinear: bool = True) -> None:
        super().__init__()
        # if bilinear, use the normal convolutions to reduce the number of channels
        if bilinear:
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
            self.conv = DoubleConv(in_channels, out_channels, in_channels // 2)
        else:
            self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
            self.conv = DoubleConv(in_channels, out_channels)

    def forward(self, x1, x2):
        x1 = self.up(x1)
        # input is CHW (runtime sizes where H, W are dynamic: the padding is computed in the engine)
        diffY = F.sym_size(x2, 2) - F.sym_size(x1, 2)
        diffX = F.sym_size(x2, 3) - F.sym_size(x1, 3)
        x1 = F.pad(x1, [diffX // 2, diffX - diffX // 2, diffY // 2, diffY - diffY // 2])
        x = F.cat([x2, x1], dim=1)
        return self.conv(x)


class OutConv(Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x):
        return self.conv(x)


class UNet(Module):
    """milesial UNet. output='logits': [B, n_classes, H, W] (as the original).

    output='mask': {'logits': ..., 'mask': ...}; mask is int32, predict.py's rule computed in the engine:
    argmax over classes -> [B, H, W] for n_classes > 1, sigmoid(logits) > out_threshold -> [B, 1, H, W] (0/1)
    for n_classes == 1.
    """

    def __init__(self, n_channels: int, n_classes: int, bilinear: bool = False, output: str = "logits",
                 out_threshold: float = 0.5) -> None:
        super().__init__()
        if output not in ("logits", "mask"):
            raise ConfigError(f"UNet: output must be 'logits' or 'mask', got {output!r}")
        require_int(n_channels, "n_channels", "UNet")
        require_int(n_classes, "n_classes", "UNet")
        self.n_channels = n_channels
        self.n_classes = n_classes
        self.bilinear = bilinear
        self.output, self.out_threshold = output, out_threshold

        self.inc = DoubleConv(n_channels, 64)
        self.down1 = Down(64, 128)
        self.down2 = Down(128, 256)
        self.down3 = Down(256, 512)
        factor = 2 if bilinear else 1
        self.down4 = Down(512, 1024 // factor)
        self.up1 = Up(1024, 512 // factor, bilinear)
        self.up2 = Up(512, 256 // factor, bilinear)
        self.up3 = Up(256, 128 // factor, bilinear)
        self.up4 = Up(128, 64, bilinear)
        self.outc = OutConv(64, n_classes)

    def forward(self, x: Tensor) -> Union[Tensor, Dict[str, Tensor]]:
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x5 = self.down4(x4)
        x = self.up1(x5, x4)
        x = self.up2(x, x3)
        x = self.up3(x, x2)
        x = self.up4(x, x1)
        logits = self.outc(x)
        if self.output == "logits":
            return logits
        if self.n_classes > 1:
            mask = logits.argmax(dim=1)
        else:
            mask = logits.sigmoid() > self.out_threshold
        return {"logits": logits, "mask": mask.to(torch.int32)}


# ---- outputs and registration --------------------------------------------------------------------------------
SEMANTIC_SEGMENT = TaskSpec("semantic-segment", {}, {
    "output": "logits [B, n_classes, H, W]", "logits": "logits [B, n_classes, H, W]",
    "mask": "class per pixel (argmax; one class: sigmoid > 0.5)"},
    "image batch, resized to imgsz by the caller", unet_preprocess)


def unet_config(state: StateDict) -> Dict[str, Any]:
    """n_classes = outc's outputs; n_channels = the first conv's weights / (its BatchNorm's channels * 3 * 3)."""
    out: Dict[str, Any] = {}
    if "outc.conv.bias" in state:
        out["n_classes"] = numel(state, "outc.conv.bias")
    first, bn = numel(state, "inc.double_conv.0.weight"), numel(state, "inc.double_conv.1.weight")
    if first and bn:
        out["n_channels"] = first // (bn * 9)
    return out


register(ModelSpec(
    family="unet", task=SEMANTIC_SEGMENT,
    variants={"unet": partial(UNet, n_channels=3, n_classes=2, bilinear=False),
              "unet_bilinear": partial(UNet, n_channels=3, n_classes=2, bilinear=True)},
    config_from_state_dict=unet_config, with_classes=lambda kw, nc: {**kw, "n_classes": nc},
    num_classes=lambda model: model.n_classes, imgsz=(572, 572), in_channels=lambda model: model.n_channels,
    mask=lambda kw: {**kw, "output": "mask"}))
