"""Small models with the patterns of public model zoos (timm, smp, torchvision, diffusers) that codegen once got
wrong, one per failure class of issue 17: `CASES[name]() -> (model, example_inputs)`."""
from typing import Dict, List

import torch
import torch.nn as nn
import torch.nn.functional as F


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


# 1. a forward argument (and a return value) that is a list / tuple / dict of tensors ---------------------------------
class Encoder(nn.Module):
    def __init__(self, chans=(3, 8, 16, 32)):
        super().__init__()
        self.stages = nn.ModuleList(_conv(a, b, 2) for a, b in zip(chans[:-1], chans[1:]))

    def forward(self, x) -> List[torch.Tensor]:
        features = [x]
        for stage in self.stages:
            features.append(stage(features[-1]))
        return features


class DecoderBlock(nn.Module):
    def __init__(self, cin, cskip, cout):
        super().__init__()
        self.conv = _conv(cin + cskip, cout)

    def forward(self, x, skip=None):
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.conv(x)


class Decoder(nn.Module):
    def __init__(self, chans=(32, 16, 8, 3), out=(16, 8, 8)):
        super().__init__()
        ins = (chans[0],) + out[:-1]
        self.blocks = nn.ModuleList(DecoderBlock(i, s, o) for i, s, o in zip(ins, chans[1:], out))

    def forward(self, features: List[torch.Tensor]) -> torch.Tensor:
        features = features[::-1]
        x, skips = features[0], features[1:]
        for i, block in enumerate(self.blocks):
            x = block(x, skips[i] if i < len(skips) else None)
        return x


class StarDecoder(Decoder):
    def forward(self, *features):  # the older smp spelling
        return super().forward(list(features))


class ListUNet(nn.Module):
    def __init__(self, star=False):
        super().__init__()
        self.encoder = Encoder()
        self.decoder = StarDecoder() if star else Decoder()
        self.head = nn.Conv2d(8, 2, 1)

    def forward(self, x) -> Dict[str, torch.Tensor]:
        features = self.encoder(x)
        y = self.decoder(*features) if isinstance(self.decoder, StarDecoder) else self.decoder(features)
        return {"mask": self.head(y), "deepest": features[-1]}


class NormedDecoder(nn.Module):  # smp's UPerNet: a slice of the list argument, written to, then read
    def __init__(self, chans=(8, 16, 32)):
        super().__init__()
        self.norms = nn.ModuleList(nn.BatchNorm2d(c) for c in chans)

    def forward(self, features: List[torch.Tensor]) -> torch.Tensor:
        features = features[1:]
        first = features[0]
        for i, norm in enumerate(self.norms):
            features[i] = norm(features[i])
        return features[-1].mean((2, 3)) + first.mean((1, 2, 3))[:, None] + features[0].amax((1, 2, 3))[:, None]


class MutatedList(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder, self.decoder = Encoder(), NormedDecoder()

    def forward(self, x):
        return self.decoder(self.encoder(x))


class DirectForward(nn.Module):  # timm's HRNet head: `down.forward(y)`; DPN: optional children that exclude each other
    def __init__(self):
        super().__init__()
        self.down = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1), nn.ReLU())
        self.blocks = nn.ModuleList([Either(3, 1), Either(3, 2), Either(3, 1), Either(3, 0)])

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x + self.down.forward(x)


class Either(nn.Module):
    def __init__(self, c, which):
        super().__init__()
        self.a = nn.Conv2d(c, c, 1) if which == 1 else None
        self.b = nn.Conv2d(c, c, 3, padding=1) if which == 2 else None

    def forward(self, x):
        if self.a is not None:
            return self.a(x)
        if self.b is not None:
            return self.b(x)
        return x


# 2. forward(self, input): fx renames the placeholder ------------------------------------------------------------------
class GELUTanh(nn.Module):
    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.gelu(input, approximate="tanh")


class Linear(nn.Linear):  # timm's Linear wrapper
    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.linear(input, self.weight, self.bias)


class InputNamed(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.act, self.fc2 = Linear(8, 16), GELUTanh(), Linear(16, 4)

    def forward(self, input):
        return self.fc2(self.act(self.fc1(input)))


# 3. forward(*args, **kwargs): ignored when empty, inputs when they carry tensors --------------------------------------
class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x, *args, **kwargs):
        return self.conv(x)


class Embedded(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 1)

    def forward(self, *args, **kwargs):
        x, temb = args[0], kwargs["temb"]
        return self.conv(x) + temb[:, :, None, None]


class ArgsKwargs(nn.Module):
    def __init__(self):
        super().__init__()
        self.block, self.embedded, self.proj = Block(4), Embedded(4), nn.Linear(6, 4)

    def forward(self, x, t):
        return self.embedded(self.block(x), temb=self.proj(t))


# 4. InstanceNorm2d(affine=False), the default ------------------------------------------------------------------------
class InstanceNorms(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.norm = nn.InstanceNorm2d(4)
        self.norm_affine = nn.InstanceNorm2d(4, affine=True)

    def forward(self, x):
        return self.norm_affine(self.norm(self.conv(x)))


# 5. a Sequential subclass with its own forward; a torch container as the model --------------------------------------
class Residual(nn.Sequential):
    def forward(self, x):
        y = x
        for module in self:
            y = module(y)
        return x + y


def sequential_model() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), Residual(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU()),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))


# 6. type checks on traced tensors ------------------------------------------------------------------------------------
class TypeChecks(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x, skip):
        y = self.conv(x)
        if torch.is_tensor(skip):
            y = torch.cat([y, skip], dim=1)
        if isinstance(y, torch.Tensor) and torch.jit.isinstance(skip, torch.Tensor):
            y = y * 2
        return y


# 7. composite modules of other libraries are traced through -----------------------------------------------------------
class SqueezeExcitation(nn.Module):  # as torchvision.ops.misc has it
    def __init__(self, c, squeeze):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1, self.fc2 = nn.Conv2d(c, squeeze, 1), nn.Conv2d(squeeze, c, 1)
        self.activation, self.scale_activation = nn.ReLU(), nn.Sigmoid()

    def forward(self, x):
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x


class Permute(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return torch.permute(x, self.dims)


class Conv2dNormActivation(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.SiLU())


for _cls in (SqueezeExcitation, Permute, Conv2dNormActivation):
    _cls.__module__ = "torchvision.ops.misc"


class Composites(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = Conv2dNormActivation(3, 8)
        self.se = SqueezeExcitation(8, 2)
        self.permute = Permute([0, 2, 3, 1])
        self.norm = nn.LayerNorm(8)

    def forward(self, x):
        return self.norm(self.permute(self.se(self.conv(x))))


# 8. ops: Tensor.norm, addcmul, reshape_as, a 2-D index into a parameter, x.device.type, weight standardization -------
class StdConv2d(nn.Conv2d):  # timm's weight standardization
    def forward(self, x):
        w = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None, training=True, momentum=0.0,
                         eps=1e-6).reshape_as(self.weight)
        return F.conv2d(x, w, self.bias, self.stride, self.padding)


class AttentionBias(nn.Module):  # LeViT / EfficientViT
    def __init__(self, heads=2, res=3):
        super().__init__()
        points = [(i, j) for i in range(res) for j in range(res)]
        offsets, idxs = {}, []
        for p1 in points:
            for p2 in points:
                off = (abs(p1[0] - p2[0]), abs(p1[1] - p2[1]))
                idxs.append(offsets.setdefault(off, len(offsets)))
        self.attention_biases = nn.Parameter(torch.randn(heads, len(offsets)))
        self.register_buffer("attention_bias_idxs", torch.tensor(idxs).view(len(points), len(points)), False)

    def forward(self, attn):
        return attn + self.attention_biases[:, self.attention_bias_idxs]


class Ops(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = StdConv2d(3, 4, 3, padding=1)
        self.bias = AttentionBias()
        self.gamma = nn.Parameter(torch.rand(4, 1, 1))

    def forward(self, x):
        y = self.conv(x)
        with torch.autocast(device_type=x.device.type, enabled=False):
            y = y / y.norm(dim=1, keepdim=True).clamp_min(1e-6)
        y = torch.addcmul(y, self.gamma, y, value=0.5)
        attn = self.bias(y.flatten(2)[:, :2, :, None] * y.flatten(2)[:, :2, None, :])
        return y.flatten(1).reshape_as(y), attn


# 9. a keyword-only argument with a default, fixed by the example ------------------------------------------------------
class Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x, *, scale=2.0):
        return self.conv(x) * scale


class KeywordOnly(nn.Module):
    def __init__(self):
        super().__init__()
        self.scaled = Scaled()

    def forward(self, x):
        return self.scaled(x, scale=3.0)


CASES = {
    "list_args": lambda: (ListUNet(), (torch.randn(1, 3, 32, 32),)),
    "star_args": lambda: (ListUNet(star=True), (torch.randn(1, 3, 32, 32),)),
    "list_mutation": lambda: (MutatedList(), (torch.randn(1, 3, 16, 16),)),
    "direct_forward": lambda: (DirectForward(), (torch.randn(1, 3, 8, 8),)),
    "input_named": lambda: (InputNamed(), (torch.randn(2, 8),)),
    "args_kwargs": lambda: (ArgsKwargs(), (torch.randn(1, 4, 8, 8), torch.randn(1, 6))),
    "instance_norm": lambda: (InstanceNorms(), (torch.randn(1, 3, 10, 10),)),
    "sequential_model": lambda: (sequential_model(), (torch.randn(1, 3, 8, 8),)),
    "type_checks": lambda: (TypeChecks(), (torch.randn(1, 3, 8, 8), torch.randn(1, 2, 8, 8))),
    "composites": lambda: (Composites(), (torch.randn(1, 3, 8, 8),)),
    "ops": lambda: (Ops(), (torch.randn(1, 3, 3, 3),)),
    "keyword_only": lambda: (KeywordOnly(), (torch.randn(1, 3, 4, 4),)),
}


def randomize(model: nn.Module) -> nn.Module:
    """Random BatchNorm statistics (so a dropped or misplaced norm shows) and no zero-initialized weights."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
    return model.eval()
