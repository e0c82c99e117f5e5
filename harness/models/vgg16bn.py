"""VGG-16-BN for 32x32 images, as the original harness has it: global average pool, a 512-wide classifier."""

import torch
from torch import Tensor, nn

from harness.models.init import init_weights

# Configuration D of Simonyan & Zisserman (2015): the output channels of each 3x3 conv (pad 1, with bias, then
# BN and ReLU); "M" is a 2x2 max pool.
VGG16_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
CLASSIFIER_WIDTH = 512  # hidden units: Linear(512, 512) -> ReLU -> Dropout(0.5) -> Linear(512, C)


class VGG16BN(nn.Module):
    def __init__(self, num_classes: int, width_multiplier: float = 1.0) -> None:
        super().__init__()
        # Every channel count, the classifier's hidden width included, scales by the multiplier, rounded to
        # the nearest integer and at least 1.
        cfg = [entry if entry == "M" else max(1, round(entry * width_multiplier)) for entry in VGG16_CFG]
        hidden = max(1, round(CLASSIFIER_WIDTH * width_multiplier))
        layers: list[nn.Module] = []
        in_channels = 3
        for entry in cfg:
            if entry == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                conv = nn.Conv2d(in_channels, entry, 3, padding=1)
                layers += [conv, nn.BatchNorm2d(entry), nn.ReLU(inplace=True)]
                in_channels = entry
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)  # a no-op at 32x32 input, where the five pools leave 1x1
        self.classifier = nn.Sequential(
            nn.Linear(in_channels, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(hidden, num_classes),
        )
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def vgg16_bn(num_classes: int, width_multiplier: float = 1.0) -> VGG16BN:
    return VGG16BN(num_classes, width_multiplier)
