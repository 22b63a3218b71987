"""A 3-D CNN (video / volume): Conv3d, BatchNorm3d, pooling over space-time."""
import torch
import torch.nn as nn


class Conv3dBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, 3, stride, 1, bias=False)
        self.bn = nn.BatchNorm3d(cout)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Video3D(nn.Module):
    def __init__(self, classes=4):
        super().__init__()
        self.features = nn.Sequential(Conv3dBlock(3, 8), Conv3dBlock(8, 16, 2))
        self.fc = nn.Linear(16, classes)

    def forward(self, x):
        x = self.features(x)
        return self.fc(x.mean((2, 3, 4)))


def make(size=16):
    return Video3D(), (torch.randn(1, 3, 4, size, size),)
