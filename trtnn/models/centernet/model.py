"""xingyizhou/CenterNet ctdet networks (src/lib/models/networks/), line by line in trtnn.

* `PoseResNet` -- msra_resnet.py (res_18, res_101; torchvision's BasicBlock / Bottleneck from .resnet).
* `DLASeg` -- pose_dla_dcn.py (dla_34, the released ctdet_coco_dla_2x model): DLA-34 base, `DLAUp` and `IDAUp`
  whose proj/node are `DeformConv` = DCNv2's `DCN` (dcn_v2.py) + BN + ReLU.
* `DLASegV0` -- dlav0.py (dlav0_34): the same base; its IDAUp / DLAUp (plain conv nodes on a concat) are
  `IDAUpV0` / `DLAUpV0` here.

Every forward returns {'hm': ..., 'wh': ..., 'reg': ...} (heads order): the raw head maps at stride 4, hm as logits
(before the detector's sigmoid). The originals return the same dict wrapped in a list, [dict].
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple, Type, Union

from ... import functional as F
from ... import nn
from ...errors import ConfigError, ShapeError, require_int
from ...graph.module import Module
from ...graph.parameter import Parameter
from ...graph.tensor import Tensor
from .. import resnet
from .backbones import dla34

Heads = Dict[str, int]


def _default_heads(heads: Optional[Heads], num_classes: int) -> Heads:
    if heads is None:
        return {"hm": require_int(num_classes, "num_classes", "centernet"), "wh": 2, "reg": 2}
    if not isinstance(heads, dict) or not heads:
        raise ConfigError(f"centernet: heads must be a non-empty dict {{name: output channels}}, got {heads!r}")
    for name, channels in heads.items():
        require_int(channels, f"heads[{name!r}] (output channels)", "centernet")
    return dict(heads)


def _head(in_channels: int, head_conv: int, classes: int, final_kernel: int = 1) -> Module:
    """A head as all three originals build it: 3x3 conv, ReLU, final conv (or the final conv alone if head_conv=0)."""
    if head_conv > 0:
        return nn.Sequential(
            nn.Conv2d(in_channels, head_conv, kernel_size=3, padding=1, bias=True),
            nn.ReLU(inplace=True),
            nn.Conv2d(head_conv, classes, kernel_size=final_kernel, stride=1, padding=final_kernel // 2, bias=True))
    return nn.Conv2d(in_channels, classes, kernel_size=final_kernel, stride=1, padding=final_kernel // 2, bias=True)


# ------------------------------------------------------------------------------------------------ msra_resnet.py
class PoseResNet(Module):
    """resnet (conv1 7x7/2, maxpool, layer1..4) -> deconv_layers (3 x ConvTranspose2d 4/2, BN, ReLU) -> heads.

    Heads are registered in sorted(heads) order (their state_dict order); forward returns {head: map} in heads
    order (the original: [{head: map}])."""

    def __init__(self, block: Type[Union[resnet.BasicBlock, resnet.Bottleneck]], layers: List[int], heads: Heads,
                 head_conv: int) -> None:
        super().__init__()
        self.inplanes = 64
        self.deconv_with_bias = False
        self.heads = heads
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.deconv_layers = self._make_deconv_layer(3, [256, 256, 256], [4, 4, 4])
        for head in sorted(self.heads):
            setattr(self, head, _head(256, head_conv, self.heads[head]))

    _make_layer = resnet.ResNet._make_layer  # msra_resnet's _make_layer is torchvision's, line for line

    @staticmethod
    def _get_deconv_cfg(deconv_kernel: int) -> Tuple[int, int, int]:
        """kernel -> (kernel, padding, output_padding): each deconv doubles the size."""
        return {4: (4, 1, 0), 3: (3, 1, 1), 2: (2, 0, 0)}[deconv_kernel]

    def _make_deconv_layer(self, num_layers: int, num_filters: List[int], num_kernels: List[int]) -> nn.Sequential:
        layers: List[Module] = []
        for i in range(num_layers):
            kernel, padding, output_padding = self._get_deconv_cfg(num_kernels[i])
            planes = num_filters[i]
            layers += [nn.ConvTranspose2d(self.inplanes, planes, kernel_size=kernel, stride=2, padding=padding,
                                          output_padding=output_padding, bias=self.deconv_with_bias),
                       nn.BatchNorm2d(planes),
                       nn.ReLU(inplace=True)]
            self.inplanes = planes
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Dict[str, Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.deconv_layers(x)
        return {head: getattr(self, head)(x) for head in self.heads}


resnet_spec = {18: (resnet.BasicBlock, [2, 2, 2, 2]),
               34: (resnet.BasicBlock, [3, 4, 6, 3]),
               50: (resnet.Bottleneck, [3, 4, 6, 3]),
               101: (resnet.Bottleneck, [3, 4, 23, 3]),
               152: (resnet.Bottleneck, [3, 8, 36, 3])}


def centernet_resnet(num_layers: int = 18, heads: Optional[Heads] = None, head_conv: int = 64,
                     num_classes: int = 80) -> PoseResNet:
    """msra_resnet.get_pose_net(num_layers, heads, head_conv); heads default {'hm': num_classes, 'wh': 2, 'reg': 2}."""
    if num_layers not in resnet_spec:
        raise ConfigError(f"centernet_resnet: num_layers must be one of {sorted(resnet_spec)}, got {num_layers!r}")
    block, layers = resnet_spec[num_layers]
    return PoseResNet(block, layers, _default_heads(heads, num_classes), head_conv)


def _up(o: int, f: int) -> nn.ConvTranspose2d:
    """The depthwise x f upsampling deconv of both IDAUps (bilinear-initialized in the originals)."""
    return nn.ConvTranspose2d(o, o, f * 2, stride=f, padding=f // 2, output_padding=0, groups=o, bias=False)


# ---------------------------------------------------------------------------- DCNv2 (dcn_v2.py), pose_dla_dcn.py
class DCN(Module):
    """DCNv2's DCN: modulated deformable conv whose offsets and mask come from `conv_offset_mask` on the input
    (its 3 * deformable_groups * kh * kw channels: dy/dx interleaved per tap, then the mask logits)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Union[int, Tuple[int, int]], stride: int,
                 padding: int, dilation: int = 1, deformable_groups: int = 1) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size,) * 2
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.deformable_groups = deformable_groups
        fan_in = in_channels * self.kernel_size[0] * self.kernel_size[1]
        bound = 1.0 / math.sqrt(fan_in)  # DCNv2's reset_parameters: U(-1/sqrt(n), 1/sqrt(n))
        self.weight = Parameter((out_channels, in_channels, *self.kernel_size),
                                init=lambda t: t.uniform_(-bound, bound))
        self.bias = Parameter((out_channels,))
        self.conv_offset_mask = nn.Conv2d(
            in_channels, deformable_groups * 3 * self.kernel_size[0] * self.kernel_size[1],
            kernel_size=self.kernel_size, stride=stride, padding=padding, bias=True)

    def forward(self, input: Tensor) -> Tensor:
        out = self.conv_offset_mask(input)
        o1, o2, mask = F.chunk(out, 3, dim=1)
        offset = F.cat((o1, o2), dim=1)
        mask = F.sigmoid(mask)
        return F.deform_conv2d(input, offset, self.weight, self.bias, self.stride, self.padding, self.dilation, mask)


class DeformConv(Module):
    """DCN 3x3, then actf = BN, ReLU (actf is registered first, as in the original)."""

    def __init__(self, chi: int, cho: int) -> None:
        super().__init__()
        self.actf = nn.Sequential(nn.BatchNorm2d(cho), nn.ReLU(inplace=True))
        self.conv = DCN(chi, cho, kernel_size=(3, 3), stride=1, padding=1, dilation=1, deformable_groups=1)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(x)
        x = self.actf(x)
        return x


class IDAUp(Module):
    """For i >= 1: proj_i = DeformConv(c_i, o), up_i = depthwise x f_i deconv, node_i = DeformConv(o, o) on the
    sum with the previous (merged) level. forward rewrites layers[startp + 1:endp] in place."""

    def __init__(self, o: int, channels: Sequence[int], up_f: Sequence[int]) -> None:
        super().__init__()
        for i in range(1, len(channels)):
            c = channels[i]
            f = int(up_f[i])
            setattr(self, f"proj_{i}", DeformConv(c, o))
            setattr(self, f"up_{i}", _up(o, f))
            setattr(self, f"node_{i}", DeformConv(o, o))

    def forward(self, layers: List[Tensor], startp: int, endp: int) -> None:
        for i in range(startp + 1, endp):
            upsample = getattr(self, f"up_{i - startp}")
            project = getattr(self, f"proj_{i - startp}")
            layers[i] = upsample(project(layers[i]))
            node = getattr(self, f"node_{i - startp}")
            layers[i] = node(layers[i] + layers[i - 1])


class DLAUp(Module):
    """ida_i merges the deepest i + 2 levels; forward returns the merged maps, finest (stride 2**startp) first."""

    def __init__(self, startp: int, channels: Sequence[int], scales: Sequence[int],
                 in_channels: Optional[Sequence[int]] = None) -> None:
        super().__init__()
        self.startp = startp
        in_channels = list(channels if in_channels is None else in_channels)
        self.channels = channels
        channels = list(channels)
        scales = [int(s) for s in scales]
        for i in range(len(channels) - 1):
            j = -i - 2
            setattr(self, f"ida_{i}", IDAUp(channels[j], in_channels[j:], [s // scales[j] for s in scales[j:]]))
            scales[j + 1:] = [scales[j]] * len(scales[j + 1:])
            in_channels[j + 1:] = [channels[j] for _ in channels[j + 1:]]

    def forward(self, layers: List[Tensor]) -> List[Tensor]:
        out = [layers[-1]]  # start with 32
        for i in range(len(layers) - self.startp - 1):
            ida = getattr(self, f"ida_{i}")
            ida(layers, len(layers) - i - 2, len(layers))
            out.insert(0, layers[-1])
        return out


class DLASeg(Module):
    """pose_dla_dcn.DLASeg: base -> dla_up -> ida_up over levels [first_level, last_level) -> heads on the last.

    forward returns {head: map} (the original: [{head: map}])."""

    def __init__(self, heads: Heads, down_ratio: int = 4, final_kernel: int = 1, last_level: int = 5,
                 head_conv: int = 256, out_channel: int = 0) -> None:
        super().__init__()
        if down_ratio not in (2, 4, 8, 16):
            raise ConfigError(f"{type(self).__name__}: down_ratio must be 2, 4, 8 or 16, got {down_ratio!r}")
        self.first_level = int(math.log2(down_ratio))
        self.last_level = last_level
        self.base = dla34(classifier=True, pool_size=None)  # base.fc: the pretrained ImageNet classifier
        channels = self.base.channels
        scales = [2 ** i for i in range(len(channels[self.first_level:]))]
        self.dla_up = DLAUp(self.first_level, channels[self.first_level:], scales)
        if out_channel == 0:
            out_channel = channels[self.first_level]
        self.ida_up = IDAUp(out_channel, channels[self.first_level:self.last_level],
                            [2 ** i for i in range(self.last_level - self.first_level)])
        self.heads = heads
        for head in self.heads:
            setattr(self, head, _head(channels[self.first_level], head_conv, self.heads[head], final_kernel))

    def forward(self, x: Tensor) -> Dict[str, Tensor]:
        x = self.base(x)
        x = self.dla_up(x)
        y = [x[i] for i in range(self.last_level - self.first_level)]  # the original .clone()s; a list copy suffices
        self.ida_up(y, 0, len(y))
        return {head: getattr(self, head)(y[-1]) for head in self.heads}


def centernet_dla34(heads: Optional[Heads] = None, head_conv: int = 256, num_classes: int = 80) -> DLASeg:
    """pose_dla_dcn.get_pose_net(34, heads, head_conv, down_ratio=4): the released ctdet dla_34 (DCN)."""
    return DLASeg(_default_heads(heads, num_classes), down_ratio=4, final_kernel=1, last_level=5, head_conv=head_conv)


# -------------------------------------------------------------------------------------------------------- dlav0.py
class IDAUpV0(Module):
    """dlav0's IDAUp: proj_i (1x1 conv, BN, ReLU; Identity if c_i == out_dim), up_i (depthwise x f_i deconv;
    Identity if f_i == 1), then node_i (conv, BN, ReLU) on cat([x, layers[i]]) chained from layers[0].
    Returns (x, every node's output)."""

    def __init__(self, node_kernel: int, out_dim: int, channels: Sequence[int], up_factors: Sequence[int]) -> None:
        super().__init__()
        self.channels = channels
        self.out_dim = out_dim
        for i, c in enumerate(channels):
            if c == out_dim:
                proj = nn.Identity()
            else:
                proj = nn.Sequential(
                    nn.Conv2d(c, out_dim, kernel_size=1, stride=1, bias=False),
                    nn.BatchNorm2d(out_dim),
                    nn.ReLU(inplace=True))
            f = int(up_factors[i])
            up = nn.Identity() if f == 1 else _up(out_dim, f)
            setattr(self, f"proj_{i}", proj)
            setattr(self, f"up_{i}", up)
        for i in range(1, len(channels)):
            node = nn.Sequential(
                nn.Conv2d(out_dim * 2, out_dim, kernel_size=node_kernel, stride=1, padding=node_kernel // 2,
                          bias=False),
                nn.BatchNorm2d(out_dim),
                nn.ReLU(inplace=True))
            setattr(self, f"node_{i}", node)

    def forward(self, layers: List[Tensor]) -> Tuple[Tensor, List[Tensor]]:
        if len(self.channels) != len(layers):
            raise ShapeError(f"IDAUpV0 takes {len(self.channels)} feature maps, got {len(layers)}")
        layers = list(layers)
        for i, l in enumerate(layers):
            upsample = getattr(self, f"up_{i}")
            project = getattr(self, f"proj_{i}")
            layers[i] = upsample(project(l))
        x = layers[0]
        y = []
        for i in range(1, len(layers)):
            node = getattr(self, f"node_{i}")
            x = node(F.cat([x, layers[i]], 1))
            y.append(x)
        return x, y


class DLAUpV0(Module):
    """dlav0's DLAUp: ida_i merges the deepest i + 2 maps and replaces them by its node outputs; returns the last x."""

    def __init__(self, channels: Sequence[int], scales: Sequence[int] = (1, 2, 4, 8, 16),
                 in_channels: Optional[Sequence[int]] = None) -> None:
        super().__init__()
        in_channels = list(channels if in_channels is None else in_channels)
        self.channels = channels
        channels = list(channels)
        scales = [int(s) for s in scales]
        for i in range(len(channels) - 1):
            j = -i - 2
            setattr(self, f"ida_{i}", IDAUpV0(3, channels[j], in_channels[j:], [s // scales[j] for s in scales[j:]]))
            scales[j + 1:] = [scales[j]] * len(scales[j + 1:])
            in_channels[j + 1:] = [channels[j] for _ in channels[j + 1:]]

    def forward(self, layers: List[Tensor]) -> Tensor:
        layers = list(layers)
        if len(layers) < 2:
            raise ShapeError(f"DLAUpV0 merges at least 2 feature maps, got {len(layers)}")
        for i in range(len(layers) - 1):
            ida = getattr(self, f"ida_{i}")
            x, y = ida(layers[-i - 2:])
            layers[-i - 1:] = y
        return x


class DLASegV0(Module):
    """dlav0.DLASeg: base (holding its unused ImageNet fc) -> dla_up over levels first_level..5 -> heads.

    forward returns {head: map} (the original: [{head: map}])."""

    def __init__(self, heads: Heads, down_ratio: int = 4, head_conv: int = 256) -> None:
        super().__init__()
        if down_ratio not in (2, 4, 8, 16):
            raise ConfigError(f"{type(self).__name__}: down_ratio must be 2, 4, 8 or 16, got {down_ratio!r}")
        self.heads = heads
        self.first_level = int(math.log2(down_ratio))
        self.base = dla34(classifier=True)
        channels = self.base.channels
        scales = [2 ** i for i in range(len(channels[self.first_level:]))]
        self.dla_up = DLAUpV0(channels[self.first_level:], scales=scales)
        for head in self.heads:
            setattr(self, head, _head(channels[self.first_level], head_conv, self.heads[head]))

    def forward(self, x: Tensor) -> Dict[str, Tensor]:
        x = self.base(x)
        x = self.dla_up(x[self.first_level:])
        return {head: getattr(self, head)(x) for head in self.heads}


def centernet_dlav0_34(heads: Optional[Heads] = None, head_conv: int = 256, num_classes: int = 80) -> DLASegV0:
    """dlav0.get_pose_net(34, heads, head_conv, down_ratio=4)."""
    return DLASegV0(_default_heads(heads, num_classes), down_ratio=4, head_conv=head_conv)
