"""A 1-D audio CNN: Conv1d, BatchNorm1d, max-pool and global pooling over time."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvBlock1d(nn.Module):
    def __init__(self, cin, cout, k, stride=1):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, k, stride, k // 2, bias=False)
        self.bn = nn.BatchNorm1d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class AudioCNN(nn.Module):
    def __init__(self, classes=5):
        super().__init__()
        self.blocks = nn.Sequential(ConvBlock1d(1, 8, 9, 4), nn.MaxPool1d(4), ConvBlock1d(8, 16, 5),
                                    ConvBlock1d(16, 16, 5))
        self.fc = nn.Linear(16, classes)

    def forward(self, wave):
        x = self.blocks(wave.unsqueeze(1))
        return self.fc(x.mean(-1))


def make(samples=1024):
    return AudioCNN(), (torch.randn(2, samples),)
