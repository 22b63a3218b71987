"""A small UNet: double convs, max-pool down, transposed-conv up, skip concatenation."""
import torch
import torch.nn as nn


class DoubleConv(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                                 nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, padding=1, bias=False),
                                 nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    def forward(self, x):
        return self.net(x)


class Up(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cin // 2, 2, stride=2)
        self.conv = DoubleConv(cin, cout)

    def forward(self, x, skip):
        x = self.up(x)
        return self.conv(torch.cat([skip, x], dim=1))


class UNet(nn.Module):
    def __init__(self, cin=3, classes=2, w=8):
        super().__init__()
        self.inc = DoubleConv(cin, w)
        self.downs = nn.ModuleList([DoubleConv(w, 2 * w), DoubleConv(2 * w, 4 * w)])
        self.pool = nn.MaxPool2d(2)
        self.ups = nn.ModuleList([Up(4 * w, 2 * w), Up(2 * w, w)])
        self.outc = nn.Conv2d(w, classes, 1)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.downs[0](self.pool(x1))
        x3 = self.downs[1](self.pool(x2))
        x = self.ups[0](x3, x2)
        x = self.ups[1](x, x1)
        return self.outc(x)


def make(size=32):
    return UNet(), (torch.randn(1, 3, size, size),)
