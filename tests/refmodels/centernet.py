"""xingyizhou/CenterNet ctdet reference models and decode (src/lib/models/...).

* :class:`PoseResNet` -- networks/msra_resnet.py (res_18 / res_101): resnet, 3 deconv layers, heads.
* :class:`DLASeg` -- networks/pose_dla_dcn.py (dla_34, the released ctdet model): DLA-34 base, DLAUp + IDAUp
  whose proj/node are :class:`DeformConv` (DCNv2 + BN + ReLU).
* :class:`DLASegV0` -- networks/dlav0.py (dlav0_34): the same base, DLAUp whose IDAUp nodes are plain convs on a concat.
* :class:`DCN` / :func:`deform_conv2d_ref` -- DCNv2's modulated deformable conv (dcn_v2.py and
  dcn_v2_im2col_cuda.cu), written in pure torch with explicit floor / gather (no grid_sample).
* :func:`ctdet_decode` -- models/decode.py (``_nms``, ``_topk``, ``ctdet_decode``) and :func:`ctdet_detect`, the
  detector's ``hm.sigmoid_()`` -> decode step.

Module names and nesting follow the originals, so ``state_dict()`` keys are those of the released checkpoints
(tests/data/keys/centernet_*.keys). Every model's forward returns ``[{head: map}]`` (a list with one dict, in
``heads`` order), as the originals do. Output stride is 4.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

BN_MOMENTUM = 0.1  # the originals' value; equal to PyTorch's default

# ----------------------------------------------------------------------------------------------
# msra_resnet.py
# ----------------------------------------------------------------------------------------------


def conv3x3(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """torchvision-style resnet BasicBlock (stride on conv1, optional downsample of the residual)."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            residual = self.downsample(x)
        out += residual
        return self.relu(out)


class Bottleneck(nn.Module):
    """torchvision-style resnet Bottleneck (1x1 -> 3x3 with the stride -> 1x1 x4)."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            residual = self.downsample(x)
        out += residual
        return self.relu(out)


class PoseResNet(nn.Module):
    """msra_resnet.PoseResNet: resnet -> 3 x (ConvTranspose2d k4 s2 p1, BN, ReLU) -> heads.

    Heads are registered in ``sorted(heads)`` order (as the original), the forward returns them in ``heads`` order.
    """

    def __init__(self, block, layers, heads, head_conv):
        self.inplanes = 64
        self.deconv_with_bias = False
        self.heads = heads
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.deconv_layers = self._make_deconv_layer(3, [256, 256, 256], [4, 4, 4])
        for head in sorted(self.heads):
            num_output = self.heads[head]
            if head_conv > 0:
                fc = nn.Sequential(
                    nn.Conv2d(256, head_conv, kernel_size=3, padding=1, bias=True),
                    nn.ReLU(inplace=True),
                    nn.Conv2d(head_conv, num_output, kernel_size=1, stride=1, padding=0),
                )
            else:
                fc = nn.Conv2d(256, num_output, kernel_size=1, stride=1, padding=0)
            self.__setattr__(head, fc)
        self._init_head_weights()

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion, momentum=BN_MOMENTUM),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes))
        return nn.Sequential(*layers)

    @staticmethod
    def _get_deconv_cfg(deconv_kernel):
        # kernel -> (kernel, padding, output_padding)
        return {4: (4, 1, 0), 3: (3, 1, 1), 2: (2, 0, 0)}[deconv_kernel]

    def _make_deconv_layer(self, num_layers, num_filters, num_kernels):
        assert num_layers == len(num_filters) == len(num_kernels)
        layers = []
        for i in range(num_layers):
            kernel, padding, output_padding = self._get_deconv_cfg(num_kernels[i])
            planes = num_filters[i]
            layers.append(
                nn.ConvTranspose2d(self.inplanes, planes, kernel_size=kernel, stride=2, padding=padding,
                                   output_padding=output_padding, bias=self.deconv_with_bias)
            )
            layers.append(nn.BatchNorm2d(planes, momentum=BN_MOMENTUM))
            layers.append(nn.ReLU(inplace=True))
            self.inplanes = planes
        return nn.Sequential(*layers)

    @torch.no_grad()
    def _init_head_weights(self):
        """The non-downloading part of the original init_weights(pretrained=True)."""
        for m in self.deconv_layers.modules():
            if isinstance(m, nn.ConvTranspose2d):
                nn.init.normal_(m.weight, std=0.001)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        for head in self.heads:
            for m in self.__getattr__(head).modules():
                if isinstance(m, nn.Conv2d) and m.weight.shape[0] == self.heads[head]:
                    if "hm" in head:
                        nn.init.constant_(m.bias, -2.19)
                    else:
                        nn.init.normal_(m.weight, std=0.001)
                        nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.deconv_layers(x)
        return [{head: self.__getattr__(head)(x) for head in self.heads}]


RESNET_SPEC = {
    18: (BasicBlock, [2, 2, 2, 2]),
    34: (BasicBlock, [3, 4, 6, 3]),
    50: (Bottleneck, [3, 4, 6, 3]),
    101: (Bottleneck, [3, 4, 23, 3]),
    152: (Bottleneck, [3, 8, 36, 3]),
}


def _default_heads(heads, num_classes):
    return dict(heads) if heads is not None else {"hm": num_classes, "wh": 2, "reg": 2}


def centernet_resnet(num_layers=18, heads=None, head_conv=64, num_classes=80):
    """msra_resnet.get_pose_net (without the ImageNet download): CenterNet res_18 / res_101."""
    block, layers = RESNET_SPEC[num_layers]
    return PoseResNet(block, layers, _default_heads(heads, num_classes), head_conv)


# ----------------------------------------------------------------------------------------------
# DLA-34 base (pose_dla_dcn.py / dlav0.py: identical modules)
# ----------------------------------------------------------------------------------------------


class DLABasicBlock(nn.Module):
    """dla BasicBlock: the residual is passed in by the Tree (or is x)."""

    def __init__(self, inplanes, planes, stride=1, dilation=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=3, stride=stride, padding=dilation, bias=False,
                               dilation=dilation)
        self.bn1 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=dilation, bias=False,
                               dilation=dilation)
        self.bn2 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.stride = stride

    def forward(self, x, residual=None):
        if residual is None:
            residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += residual
        return self.relu(out)


class Root(nn.Module):
    """1x1 conv on the concat of the children, BN, (+ children[0] if residual), ReLU."""

    def __init__(self, in_channels, out_channels, kernel_size, residual):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, stride=1, bias=False, padding=(kernel_size - 1) // 2)
        self.bn = nn.BatchNorm2d(out_channels, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        self.residual = residual

    def forward(self, *x):
        children = x
        x = self.bn(self.conv(torch.cat(x, 1)))
        if self.residual:
            x += children[0]
        return self.relu(x)


class Tree(nn.Module):
    def __init__(self, levels, block, in_channels, out_channels, stride=1, level_root=False, root_dim=0,
                 root_kernel_size=1, dilation=1, root_residual=False):
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
        self.downsample = None
        self.project = None
        self.levels = levels
        if stride > 1:
            self.downsample = nn.MaxPool2d(stride, stride=stride)
        if in_channels != out_channels:
            self.project = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=1, bias=False),
                nn.BatchNorm2d(out_channels, momentum=BN_MOMENTUM),
            )

    def forward(self, x, residual=None, children=None):
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


class DLA(nn.Module):
    """DLA backbone; forward returns the 6 level outputs (strides 1, 2, 4, 8, 16, 32).

    ``classifier=True`` adds dlav0's ``avgpool`` / ``fc`` (``fc`` is in dlav0's state_dict; pose_dla_dcn's DLA has
    no ``fc`` in __init__, but load_pretrained_model adds one and CenterNet's create_model('dla_34') calls it, so its
    checkpoints hold base.fc: tests/data/keys/centernet_dla34.keys; centernet_dla34_dcn.keys lists the keys without it).
    The classifier is never used by the detectors (both build their base with ``return_levels=True``).
    """

    def __init__(self, levels, channels, num_classes=1000, block=DLABasicBlock, residual_root=False,
                 classifier=False, return_levels=True, pool_size=7):
        super().__init__()
        self.channels = channels
        self.num_classes = num_classes
        self.return_levels = return_levels
        self.base_layer = nn.Sequential(
            nn.Conv2d(3, channels[0], kernel_size=7, stride=1, padding=3, bias=False),
            nn.BatchNorm2d(channels[0], momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True),
        )
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
        if classifier:
            self.avgpool = nn.AvgPool2d(pool_size)
            self.fc = nn.Conv2d(channels[-1], num_classes, kernel_size=1, stride=1, padding=0, bias=True)
        else:
            assert return_levels, "return_levels=False needs the classifier"

    @staticmethod
    def _make_conv_level(inplanes, planes, convs, stride=1, dilation=1):
        modules = []
        for i in range(convs):
            modules.extend([
                nn.Conv2d(inplanes, planes, kernel_size=3, stride=stride if i == 0 else 1, padding=dilation,
                          bias=False, dilation=dilation),
                nn.BatchNorm2d(planes, momentum=BN_MOMENTUM),
                nn.ReLU(inplace=True),
            ])
            inplanes = planes
        return nn.Sequential(*modules)

    def forward(self, x):
        y = []
        x = self.base_layer(x)
        for i in range(6):
            x = getattr(self, f"level{i}")(x)
            y.append(x)
        if self.return_levels:
            return y
        x = self.fc(self.avgpool(x))
        return x.view(x.size(0), -1)


def dla34(classifier=False, **kwargs):
    """DLA-34: levels [1, 1, 1, 2, 2, 1], channels [16, 32, 64, 128, 256, 512], BasicBlock."""
    return DLA([1, 1, 1, 2, 2, 1], [16, 32, 64, 128, 256, 512], block=DLABasicBlock, classifier=classifier,
               **kwargs)


def fill_up_weights(up):
    """Bilinear-upsampling init of a depthwise ConvTranspose2d (both dla files)."""
    w = up.weight.data
    f = math.ceil(w.size(2) / 2)
    c = (2 * f - 1 - f % 2) / (2.0 * f)
    k = torch.tensor([1 - math.fabs(i / f - c) for i in range(w.size(2))])
    w.copy_((k[:, None] * k[None, :]).expand_as(w))


def _depthwise_up(o, f):
    up = nn.ConvTranspose2d(o, o, f * 2, stride=f, padding=f // 2, output_padding=0, groups=o, bias=False)
    if not up.weight.is_meta:
        fill_up_weights(up)
    return up


def _make_head(in_channels, head_conv, classes, final_kernel, head):
    if head_conv > 0:
        fc = nn.Sequential(
            nn.Conv2d(in_channels, head_conv, kernel_size=3, padding=1, bias=True),
            nn.ReLU(inplace=True),
            nn.Conv2d(head_conv, classes, kernel_size=final_kernel, stride=1, padding=final_kernel // 2, bias=True),
        )
        last = fc[-1]
    else:
        fc = last = nn.Conv2d(in_channels, classes, kernel_size=final_kernel, stride=1, padding=final_kernel // 2,
                              bias=True)
    with torch.no_grad():
        if "hm" in head:
            last.bias.fill_(-2.19)
        else:
            for m in fc.modules():
                if isinstance(m, nn.Conv2d) and m.bias is not None:
                    nn.init.constant_(m.bias, 0)
    return fc


# ----------------------------------------------------------------------------------------------
# DCNv2 (dcn_v2.py, src/cuda/dcn_v2_im2col_cuda.cu) in pure torch
# ----------------------------------------------------------------------------------------------


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def deform_conv2d_ref(input, offset, mask, weight, bias=None, stride=1, padding=0, dilation=1):
    """DCNv2 modulated deformable convolution, with the CUDA kernel's exact sampling rules.

    input [B, C, H, W]; weight [O, C / groups, kh, kw] (DCNv2 itself has groups = 1; torchvision.ops allows more);
    bias [O] or None; offset [B, dg * 2 * kh * kw, Ho, Wo]: for deformable group g and kernel tap k = i * kw + j
    (i = row), channel g * 2 * kh * kw + 2k is dy and + 2k + 1 is dx; mask [B, dg * kh * kw, Ho, Wo] (channel
    g * kh * kw + k), or None for no modulation (DCNv1).
    Input channels are split into dg contiguous groups. For output pixel (ho, wo) and tap (i, j) the sample is at
    h = ho * stride - pad + i * dil + dy, w = wo * stride - pad + j * dil + dx; it is 0 unless
    -1 < h < H and -1 < w < W, otherwise bilinear over the 4 integer corners, each out-of-range corner
    contributing 0 (dmcn_im2col_bilinear). Each sample is multiplied by the mask, then
    out = sum over (c, i, j) of weight * sample, + bias.
    """
    B, C, H, W = input.shape
    O, Cw, kh, kw = weight.shape
    groups = C // Cw
    assert groups * Cw == C and O % groups == 0
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    Ho = (H + 2 * ph - (dh * (kh - 1) + 1)) // sh + 1
    Wo = (W + 2 * pw - (dw * (kw - 1) + 1)) // sw + 1
    K = kh * kw
    dg = offset.shape[1] // (2 * K)
    assert offset.shape == (B, dg * 2 * K, Ho, Wo), (offset.shape, (B, dg * 2 * K, Ho, Wo))
    if mask is None:
        mask = torch.ones(B, dg * K, Ho, Wo, dtype=input.dtype)
    assert mask.shape == (B, dg * K, Ho, Wo), (mask.shape, (B, dg * K, Ho, Wo))
    assert C % dg == 0
    dtype = input.dtype
    off = offset.reshape(B, dg, K, 2, Ho, Wo)
    msk = mask.reshape(B, dg, K, Ho, Wo)
    data = input.reshape(B, dg, C // dg, H * W)
    base_h = (torch.arange(Ho, device=input.device) * sh - ph).to(dtype).view(Ho, 1)
    base_w = (torch.arange(Wo, device=input.device) * sw - pw).to(dtype).view(1, Wo)

    def corner(hi, wi, ok):
        """data at integer (hi, wi) [B, dg, Ho, Wo] where ok, else 0 -> [B, dg, C/dg, Ho, Wo]."""
        idx = (hi.clamp(0, H - 1) * W + wi.clamp(0, W - 1)).reshape(B, dg, 1, Ho * Wo)
        v = torch.gather(data, 3, idx.expand(B, dg, C // dg, Ho * Wo)).reshape(B, dg, C // dg, Ho, Wo)
        return v * ok.unsqueeze(2).to(dtype)

    cols = []
    for i in range(kh):
        for j in range(kw):
            k = i * kw + j
            h = base_h + i * dh + off[:, :, k, 0]  # [B, dg, Ho, Wo]
            w = base_w + j * dw + off[:, :, k, 1]
            inside = (h > -1) & (w > -1) & (h < H) & (w < W)
            h_low_f, w_low_f = torch.floor(h), torch.floor(w)
            lh, lw = h - h_low_f, w - w_low_f
            hh, hw = 1 - lh, 1 - lw
            h_low, w_low = h_low_f.long(), w_low_f.long()
            h_high, w_high = h_low + 1, w_low + 1
            v1 = corner(h_low, w_low, (h_low >= 0) & (w_low >= 0))
            v2 = corner(h_low, w_high, (h_low >= 0) & (w_high <= W - 1))
            v3 = corner(h_high, w_low, (h_high <= H - 1) & (w_low >= 0))
            v4 = corner(h_high, w_high, (h_high <= H - 1) & (w_high <= W - 1))
            w1, w2, w3, w4 = (t.unsqueeze(2) for t in (hh * hw, hh * lw, lh * hw, lh * lw))
            val = w1 * v1 + w2 * v2 + w3 * v3 + w4 * v4
            val = torch.where(inside.unsqueeze(2), val, torch.zeros((), dtype=dtype))
            cols.append(val * msk[:, :, k].unsqueeze(2))  # [B, dg, C/dg, Ho, Wo]
    col = torch.stack(cols, 3).reshape(B, groups, Cw * K, Ho * Wo)  # channel-major, then tap: as weight.view
    out = torch.matmul(weight.reshape(groups, O // groups, Cw * K), col).reshape(B, O, Ho, Wo)
    if bias is not None:
        out = out + bias.view(1, O, 1, 1)
    return out


class DCNv2(nn.Module):
    """dcn_v2.DCNv2: parameters ``weight`` [out, in, kh, kw] and ``bias`` [out]; offsets and mask are inputs."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation=1, deformable_groups=1):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size)
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.deformable_groups = deformable_groups
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, *self.kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels))
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self):
        n = self.in_channels
        for k in self.kernel_size:
            n *= k
        stdv = 1.0 / math.sqrt(n)
        self.weight.uniform_(-stdv, stdv)
        self.bias.zero_()

    def forward(self, input, offset, mask):
        return deform_conv2d_ref(input, offset, mask, self.weight, self.bias, self.stride, self.padding,
                                 self.dilation)


class DCN(DCNv2):
    """dcn_v2.DCN: offsets and mask come from ``conv_offset_mask`` (zero-initialised, as the original)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation=1, deformable_groups=1):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, deformable_groups)
        self.conv_offset_mask = nn.Conv2d(
            self.in_channels, self.deformable_groups * 3 * self.kernel_size[0] * self.kernel_size[1],
            kernel_size=self.kernel_size, stride=_pair(self.stride), padding=_pair(self.padding), bias=True,
        )
        self.init_offset()

    @torch.no_grad()
    def init_offset(self):
        self.conv_offset_mask.weight.zero_()
        self.conv_offset_mask.bias.zero_()

    def forward(self, input):
        out = self.conv_offset_mask(input)
        o1, o2, mask = torch.chunk(out, 3, dim=1)
        offset = torch.cat((o1, o2), dim=1)
        mask = torch.sigmoid(mask)
        return deform_conv2d_ref(input, offset, mask, self.weight, self.bias, self.stride, self.padding,
                                 self.dilation)


# ----------------------------------------------------------------------------------------------
# pose_dla_dcn.py
# ----------------------------------------------------------------------------------------------


class DeformConv(nn.Module):
    """DCN(chi, cho, 3x3) -> BN -> ReLU (``actf`` is registered first, as in the original)."""

    def __init__(self, chi, cho):
        super().__init__()
        self.actf = nn.Sequential(nn.BatchNorm2d(cho, momentum=BN_MOMENTUM), nn.ReLU(inplace=True))
        self.conv = DCN(chi, cho, kernel_size=(3, 3), stride=1, padding=1, dilation=1, deformable_groups=1)

    def forward(self, x):
        return self.actf(self.conv(x))


class IDAUp(nn.Module):
    """pose_dla_dcn.IDAUp: for i >= 1, proj_i: DeformConv(c_i, o), up_i: depthwise x f_i deconv,
    node_i: DeformConv(o, o) on the sum with the previous (already merged) layer. Works in place on ``layers``."""

    def __init__(self, o, channels, up_f):
        super().__init__()
        for i in range(1, len(channels)):
            c = channels[i]
            f = int(up_f[i])
            proj = DeformConv(c, o)
            node = DeformConv(o, o)
            up = _depthwise_up(o, f)
            setattr(self, "proj_" + str(i), proj)
            setattr(self, "up_" + str(i), up)
            setattr(self, "node_" + str(i), node)

    def forward(self, layers, startp, endp):
        for i in range(startp + 1, endp):
            upsample = getattr(self, "up_" + str(i - startp))
            project = getattr(self, "proj_" + str(i - startp))
            layers[i] = upsample(project(layers[i]))
            node = getattr(self, "node_" + str(i - startp))
            layers[i] = node(layers[i] + layers[i - 1])


class DLAUp(nn.Module):
    """pose_dla_dcn.DLAUp: ida_i merges the deepest i + 2 levels; returns [stride 4, 8, 16, 32] maps."""

    def __init__(self, startp, channels, scales, in_channels=None):
        super().__init__()
        self.startp = startp
        if in_channels is None:
            in_channels = channels
        self.channels = channels
        channels = list(channels)
        in_channels = list(in_channels)
        scales = [int(s) for s in scales]
        for i in range(len(channels) - 1):
            j = -i - 2
            setattr(self, f"ida_{i}",
                    IDAUp(channels[j], in_channels[j:], [s // scales[j] for s in scales[j:]]))
            scales[j + 1:] = [scales[j]] * len(scales[j + 1:])
            in_channels[j + 1:] = [channels[j] for _ in channels[j + 1:]]

    def forward(self, layers):
        out = [layers[-1]]  # start with 32
        for i in range(len(layers) - self.startp - 1):
            ida = getattr(self, f"ida_{i}")
            ida(layers, len(layers) - i - 2, len(layers))
            out.insert(0, layers[-1])
        return out


class DLASeg(nn.Module):
    """pose_dla_dcn.DLASeg (CenterNet dla_34): base -> dla_up -> ida_up over levels [first_level, last_level) -> heads."""

    def __init__(self, heads, down_ratio=4, final_kernel=1, last_level=5, head_conv=256, out_channel=0):
        super().__init__()
        assert down_ratio in [2, 4, 8, 16]
        self.first_level = int(math.log2(down_ratio))
        self.last_level = last_level
        self.base = dla34(classifier=True)  # create_model('dla_34'): pretrained=True attaches base.fc
        channels = self.base.channels
        scales = [2 ** i for i in range(len(channels[self.first_level:]))]
        self.dla_up = DLAUp(self.first_level, channels[self.first_level:], scales)
        if out_channel == 0:
            out_channel = channels[self.first_level]
        self.ida_up = IDAUp(out_channel, channels[self.first_level:self.last_level],
                            [2 ** i for i in range(self.last_level - self.first_level)])
        self.heads = heads
        for head in self.heads:
            self.__setattr__(head, _make_head(channels[self.first_level], head_conv, self.heads[head],
                                              final_kernel, head))

    def forward(self, x):
        x = self.base(x)
        x = self.dla_up(x)
        y = []
        for i in range(self.last_level - self.first_level):
            y.append(x[i].clone())
        self.ida_up(y, 0, len(y))
        z = {}
        for head in self.heads:
            z[head] = self.__getattr__(head)(y[-1])
        return [z]


def centernet_dla34_dcn(heads=None, head_conv=256, num_classes=80):
    """pose_dla_dcn.get_pose_net(34, heads, head_conv=256, down_ratio=4): CenterNet's released ctdet dla_34."""
    return DLASeg(_default_heads(heads, num_classes), down_ratio=4, final_kernel=1, last_level=5,
                  head_conv=head_conv)


# ----------------------------------------------------------------------------------------------
# dlav0.py
# ----------------------------------------------------------------------------------------------


class Identity(nn.Module):
    def forward(self, x):
        return x


class IDAUpV0(nn.Module):
    """dlav0.IDAUp: proj_i (1x1 conv, BN, ReLU, or Identity when c_i == out_dim), up_i (depthwise x f_i deconv,
    or Identity when f_i == 1), then node_i = 3x3 conv, BN, ReLU on cat([x, layers[i]]) chained from layers[0].
    Returns (x, y) where y holds every node output."""

    def __init__(self, node_kernel, out_dim, channels, up_factors):
        super().__init__()
        self.channels = channels
        self.out_dim = out_dim
        for i, c in enumerate(channels):
            if c == out_dim:
                proj = Identity()
            else:
                proj = nn.Sequential(
                    nn.Conv2d(c, out_dim, kernel_size=1, stride=1, bias=False),
                    nn.BatchNorm2d(out_dim),
                    nn.ReLU(inplace=True),
                )
            f = int(up_factors[i])
            up = Identity() if f == 1 else _depthwise_up(out_dim, f)
            setattr(self, "proj_" + str(i), proj)
            setattr(self, "up_" + str(i), up)
        for i in range(1, len(channels)):
            node = nn.Sequential(
                nn.Conv2d(out_dim * 2, out_dim, kernel_size=node_kernel, stride=1, padding=node_kernel // 2,
                          bias=False),
                nn.BatchNorm2d(out_dim),
                nn.ReLU(inplace=True),
            )
            setattr(self, "node_" + str(i), node)
        _dlav0_init(self)

    def forward(self, layers):
        assert len(self.channels) == len(layers), f"{len(self.channels)} vs {len(layers)} layers"
        layers = list(layers)
        for i, l in enumerate(layers):
            upsample = getattr(self, "up_" + str(i))
            project = getattr(self, "proj_" + str(i))
            layers[i] = upsample(project(l))
        x = layers[0]
        y = []
        for i in range(1, len(layers)):
            node = getattr(self, "node_" + str(i))
            x = node(torch.cat([x, layers[i]], 1))
            y.append(x)
        return x, y


class DLAUpV0(nn.Module):
    """dlav0.DLAUp: ida_i merges the deepest i + 2 maps and replaces them with its node outputs; returns the last x
    (stride 4 when fed levels 2..5)."""

    def __init__(self, channels, scales=(1, 2, 4, 8, 16), in_channels=None):
        super().__init__()
        if in_channels is None:
            in_channels = channels
        self.channels = channels
        channels = list(channels)
        in_channels = list(in_channels)
        scales = [int(s) for s in scales]
        for i in range(len(channels) - 1):
            j = -i - 2
            setattr(self, f"ida_{i}",
                    IDAUpV0(3, channels[j], in_channels[j:], [s // scales[j] for s in scales[j:]]))
            scales[j + 1:] = [scales[j]] * len(scales[j + 1:])
            in_channels[j + 1:] = [channels[j] for _ in channels[j + 1:]]

    def forward(self, layers):
        layers = list(layers)
        assert len(layers) > 1
        for i in range(len(layers) - 1):
            ida = getattr(self, f"ida_{i}")
            x, y = ida(layers[-i - 2:])
            layers[-i - 1:] = y
        return x


@torch.no_grad()
def _dlav0_init(module):
    """dlav0's init loop: Conv2d weights ~ N(0, sqrt(2 / (k * k * out))), BN weight 1, bias 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d) and not m.weight.is_meta:
            n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            m.weight.normal_(0, math.sqrt(2.0 / n))
        elif isinstance(m, nn.BatchNorm2d) and not m.weight.is_meta:
            m.weight.fill_(1)
            m.bias.zero_()


class DLASegV0(nn.Module):
    """dlav0.DLASeg (CenterNet dlav0_34): base (with the unused ImageNet fc) -> dla_up over levels 2..5 -> heads."""

    def __init__(self, heads, down_ratio=4, head_conv=256):
        super().__init__()
        assert down_ratio in [2, 4, 8, 16]
        self.heads = heads
        self.first_level = int(math.log2(down_ratio))
        self.base = dla34(classifier=True, return_levels=True)
        _dlav0_init(self.base)
        channels = self.base.channels
        scales = [2 ** i for i in range(len(channels[self.first_level:]))]
        self.dla_up = DLAUpV0(channels[self.first_level:], scales=scales)
        for head in self.heads:
            classes = self.heads[head]
            if head_conv > 0:
                fc = nn.Sequential(
                    nn.Conv2d(channels[self.first_level], head_conv, kernel_size=3, padding=1, bias=True),
                    nn.ReLU(inplace=True),
                    nn.Conv2d(head_conv, classes, kernel_size=1, stride=1, padding=0, bias=True),
                )
            else:
                fc = nn.Conv2d(channels[self.first_level], classes, kernel_size=1, stride=1, padding=0, bias=True)
            with torch.no_grad():
                if "hm" in head:
                    (fc[-1] if head_conv > 0 else fc).bias.fill_(-2.19)
                else:  # dlav0's fill_fc_weights
                    for m in fc.modules():
                        if isinstance(m, nn.Conv2d):
                            nn.init.normal_(m.weight, std=0.001)
                            if m.bias is not None:
                                nn.init.constant_(m.bias, 0)
            self.__setattr__(head, fc)

    def forward(self, x):
        x = self.base(x)
        x = self.dla_up(x[self.first_level:])
        ret = {}
        for head in self.heads:
            ret[head] = self.__getattr__(head)(x)
        return [ret]


def centernet_dlav0_34(heads=None, head_conv=256, num_classes=80):
    """dlav0.get_pose_net(34, heads, head_conv=256, down_ratio=4) without the ImageNet download."""
    return DLASegV0(_default_heads(heads, num_classes), down_ratio=4, head_conv=head_conv)


# ----------------------------------------------------------------------------------------------
# decode.py / utils.py
# ----------------------------------------------------------------------------------------------


def _gather_feat(feat, ind):
    dim = feat.size(2)
    ind = ind.unsqueeze(2).expand(ind.size(0), ind.size(1), dim)
    return feat.gather(1, ind)


def _transpose_and_gather_feat(feat, ind):
    feat = feat.permute(0, 2, 3, 1).contiguous()
    feat = feat.view(feat.size(0), -1, feat.size(3))
    return _gather_feat(feat, ind)


def _nms(heat, kernel=3):
    """Keep only 3x3 local maxima (ties with a neighbour are all kept): heat * (maxpool(heat) == heat)."""
    pad = (kernel - 1) // 2
    hmax = F.max_pool2d(heat, (kernel, kernel), stride=1, padding=pad)
    keep = (hmax == heat).float()
    return heat * keep


def _topk(scores, K=40):
    """Per-class top-K over H*W, then top-K of those cat*K candidates.

    Returns (scores [B, K], inds [B, K] into H*W, clses [B, K] int32, ys [B, K] float, xs [B, K] float).
    The original's ``(t / n).int()`` on non-negative integer tensors is floor division, written as ``//`` here.
    """
    batch, cat, height, width = scores.size()
    topk_scores, topk_inds = torch.topk(scores.view(batch, cat, -1), K)
    topk_inds = topk_inds % (height * width)
    topk_ys = (topk_inds // width).int().float()
    topk_xs = (topk_inds % width).int().float()
    topk_score, topk_ind = torch.topk(topk_scores.view(batch, -1), K)
    topk_clses = (topk_ind // K).int()
    topk_inds = _gather_feat(topk_inds.view(batch, -1, 1), topk_ind).view(batch, K)
    topk_ys = _gather_feat(topk_ys.view(batch, -1, 1), topk_ind).view(batch, K)
    topk_xs = _gather_feat(topk_xs.view(batch, -1, 1), topk_ind).view(batch, K)
    return topk_score, topk_inds, topk_clses, topk_ys, topk_xs


def ctdet_decode(heat, wh, reg=None, cat_spec_wh=False, K=100):
    """decode.ctdet_decode. ``heat`` must already be sigmoided (the detector calls ``hm.sigmoid_()`` first).

    Returns detections [B, K, 6] = (x1, y1, x2, y2, score, class) in output-map units, sorted by score.
    """
    batch, cat, _, _ = heat.size()
    heat = _nms(heat)
    scores, inds, clses, ys, xs = _topk(heat, K=K)
    if reg is not None:
        reg = _transpose_and_gather_feat(reg, inds)
        reg = reg.view(batch, K, 2)
        xs = xs.view(batch, K, 1) + reg[:, :, 0:1]
        ys = ys.view(batch, K, 1) + reg[:, :, 1:2]
    else:
        xs = xs.view(batch, K, 1) + 0.5
        ys = ys.view(batch, K, 1) + 0.5
    wh = _transpose_and_gather_feat(wh, inds)
    if cat_spec_wh:
        wh = wh.view(batch, K, cat, 2)
        clses_ind = clses.view(batch, K, 1, 1).expand(batch, K, 1, 2).long()
        wh = wh.gather(2, clses_ind).view(batch, K, 2)
    else:
        wh = wh.view(batch, K, 2)
    clses = clses.view(batch, K, 1).float()
    scores = scores.view(batch, K, 1)
    bboxes = torch.cat([xs - wh[..., 0:1] / 2, ys - wh[..., 1:2] / 2,
                        xs + wh[..., 0:1] / 2, ys + wh[..., 1:2] / 2], dim=2)
    return torch.cat([bboxes, scores, clses], dim=2)


def ctdet_detect(output, K=100, reg_offset=True):
    """CtdetDetector.process without flip test: ``output`` is the model's dict (``model(x)[-1]``)."""
    hm = output["hm"].sigmoid()  # the original uses the in-place sigmoid_()
    reg = output["reg"] if reg_offset else None
    return ctdet_decode(hm, output["wh"], reg=reg, K=K)
