"""Diffusion-style blocks: ResBlock (GroupNorm, SiLU, time embedding), bicubic up-sampling, self-attention."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class ResBlock(nn.Module):
    def __init__(self, cin, cout, temb, groups=4):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.temb_proj = nn.Linear(temb, cout)
        self.norm2 = nn.GroupNorm(groups, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, t):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb_proj(F.silu(t))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


class AttnBlock(nn.Module):
    def __init__(self, channels, groups=4):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Conv2d(channels, channels * 3, 1)
        self.proj = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        B, C, H, W = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(B, 3, C, H * W).unbind(1)
        h = F.scaled_dot_product_attention(q.transpose(1, 2)[:, None], k.transpose(1, 2)[:, None],
                                           v.transpose(1, 2)[:, None])
        return x + self.proj(h[:, 0].transpose(1, 2).reshape(B, C, H, W))


class DiffusionBlock(nn.Module):
    def __init__(self, cin=8, cout=16, temb=12):
        super().__init__()
        self.res = ResBlock(cin, cout, temb)
        self.attn = AttnBlock(cout)
        self.res2 = ResBlock(cout, cout, temb)
        self.up = nn.Conv2d(cout, cin, 3, padding=1)

    def forward(self, x, t):
        h = self.res2(self.attn(self.res(x, t)), t)
        h = F.interpolate(h, scale_factor=2, mode="bicubic", align_corners=False)
        return self.up(h)


def make(size=8):
    return DiffusionBlock(), (torch.randn(1, 8, size, size), torch.randn(1, 12))
