"""ResNet (torchvision's keys) as `trtnn build` targets:

    trtnn build examples.resnet:resnet18 --input x:1x3x224x224 --dtype fp16 -o resnet18.plan
    trtnn build examples.resnet:resnet50 --input x:1x3x224x224 --weights resnet50.pth -o resnet50.plan
"""
from trtnn.models.resnet import resnet18, resnet50

__all__ = ["resnet18", "resnet50"]
