"""The DLA-34 backbone of xingyizhou/CenterNet (pose_dla_dcn.py, dlav0.py: BasicBlock, Root, Tree, DLA), line by
line in trtnn; the detectors built on it (DLASeg, DLASegV0) are in trtnn.models.centernet.model."""
from __future__ import annotations

from typing import List, Optional, Type

from ... import functional as F
from ... import nn
from ...graph.module import Module
from ...graph.tensor import Tensor


class BasicBlock(Module):
    """DLA's BasicBlock: the residual comes from the Tree (default: x)."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=3, stride=stride, padding=dilation, bias=False,
                               dilation=dilation)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=dilation, bias=False,
                               dilation=dilation)
        self.bn2 = nn.BatchNorm2d(planes)
        self.stride = stride

    def forward(self, x: Tensor, residual: Optional[Tensor] = None) -> Tensor:
        if residual is None:
            residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + residual)


class Root(Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, residual: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, stride=1, bias=False, padding=(kernel_size - 1) // 2)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.residual = residual

    def forward(self, *x: Tensor) -> Tensor:
        children = x
        x = self.bn(self.conv(F.cat(x, 1)))
        if self.residual:
            x = x + children[0]
        return self.relu(x)


class Tree(Module):
    def __init__(self, levels: int, block: Type[BasicBlock], in_channels: int, out_channels: int, stride: int = 1,
                 level_root: bool = False, root_dim: int = 0, root_kernel_size: int = 1, dilation: int = 1,
                 root_residual: bool = False) -> None:
        super().__init__()
        if root_dim == 0:
            root_dim = 2 * out_channels
        if level_root:
            root_dim += in_channels
        if levels == 1:
            self.tree1 = block(in_channels, out_channels, stride, dilation=dilation)
            self.tree2 = block(out_channels, out_channels, 1, dilation=dilation)
        else:
            self.tree1 = Tree(levels - 1, block, in_channels, out_channels, stride, root_dim=0,
                              root_kernel_size=root_kernel_size, dilation=dilation, root_residual=root_residual)
            self.tree2 = Tree(levels - 1, block, out_channels, out_channels, root_dim=root_dim + out_channels,
                              root_kernel_size=root_kernel_size, dilation=dilation, root_residual=root_residual)
        if levels == 1:
            self.root = Root(root_dim, out_channels, root_kernel_size, root_residual)
        self.level_root = level_root
        self.root_dim = root_dim
        self.levels = levels
        self.downsample = nn.MaxPool2d(stride, stride=stride) if stride > 1 else None
        self.project = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=1, bias=False),
            nn.BatchNorm2d(out_channels)) if in_channels != out_channels else None

    def forward(self, x: Tensor, residual: Optional[Tensor] = None,
                children: Optional[List[Tensor]] = None) -> Tensor:
        children = [] if children is None else children
        bottom = self.downsample(x) if self.downsample is not None else x
        residual = self.project(bottom) if self.project is not None else bottom
        if self.level_root:
            children.append(bottom)
        x1 = self.tree1(x, residual)
        if self.levels == 1:
            x2 = self.tree2(x1)
            x = self.root(x2, x1, *children)
        else:
            children.append(x1)
            x = self.tree2(x1, children=children)
        return x


class DLA(Module):
    """DLA backbone; forward returns the 6 level outputs (strides 1, 2, 4, 8, 16, 32).

    classifier=True adds the ImageNet classifier `fc` (Conv 512 -> num_classes, 1x1) and, with pool_size, dlav0's
    `avgpool`: dlav0 has both in __init__; pose_dla_dcn's DLA gets `fc` from load_pretrained_model, which CenterNet's
    create_model('dla_34') calls (pretrained=True), so its checkpoints hold base.fc. Never run by the detectors."""

    def __init__(self, levels: List[int], channels: List[int], num_classes: int = 1000,
                 block: Type[BasicBlock] = BasicBlock, residual_root: bool = False, classifier: bool = False,
                 pool_size: Optional[int] = 7) -> None:
        super().__init__()
        self.channels = channels
        self.num_classes = num_classes
        self.base_layer = nn.Sequential(
            nn.Conv2d(3, channels[0], kernel_size=7, stride=1, padding=3, bias=False),
            nn.BatchNorm2d(channels[0]),
            nn.ReLU(inplace=True))
        self.level0 = self._make_conv_level(channels[0], channels[0], levels[0])
        self.level1 = self._make_conv_level(channels[0], channels[1], levels[1], stride=2)
        self.level2 = Tree(levels[2], block, channels[1], channels[2], 2, level_root=False,
                           root_residual=residual_root)
        self.level3 = Tree(levels[3], block, channels[2], channels[3], 2, level_root=True,
                           root_residual=residual_root)
        self.level4 = Tree(levels[4], block, channels[3], channels[4], 2, level_root=True,
                           root_residual=residual_root)
        self.level5 = Tree(levels[5], block, channels[4], channels[5], 2, level_root=True,
                           root_residual=residual_root)
        if classifier and pool_size is not None:
            self.avgpool = nn.AvgPool2d(pool_size)
        if classifier:
            self.fc = nn.Conv2d(channels[-1], num_classes, kernel_size=1, stride=1, padding=0, bias=True)

    @staticmethod
    def _make_conv_level(inplanes: int, planes: int, convs: int, stride: int = 1,
                         dilation: int = 1) -> nn.Sequential:
        modules: List[Module] = []
        for i in range(convs):
            modules += [nn.Conv2d(inplanes, planes, kernel_size=3, stride=stride if i == 0 else 1,
                                  padding=dilation, bias=False, dilation=dilation),
                        nn.BatchNorm2d(planes),
                        nn.ReLU(inplace=True)]
            inplanes = planes
        return nn.Sequential(*modules)

    def forward(self, x: Tensor) -> List[Tensor]:
        y = []
        x = self.base_layer(x)
        for i in range(6):
            x = getattr(self, f"level{i}")(x)
            y.append(x)
        return y


def dla34(classifier: bool = False, pool_size: Optional[int] = 7) -> DLA:
    return DLA([1, 1, 1, 2, 2, 1], [16, 32, 64, 128, 256, 512], block=BasicBlock, classifier=classifier,
               pool_size=pool_size)
