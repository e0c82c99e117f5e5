"""ResNet-20 for 32x32 images (He et al. 2016, section 4.2), option-B shortcuts (docs/published-results.md)."""

import torch
from torch import Tensor, nn

from harness.models.init import init_weights

STAGE_WIDTHS = (16, 32, 64)  # channels of the three stages; the 3x3 stem has the first stage's width
BLOCKS_PER_STAGE = 3  # 6n + 2 = 20 weighted layers with n = 3


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers around a shortcut: 1x1 conv + BN where stride or width changes (option B)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: Tensor) -> Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNet20(nn.Module):
    def __init__(self, num_classes: int, width_multiplier: float = 1.0) -> None:
        super().__init__()
        # Every channel count scales by the multiplier, rounded to the nearest integer and at least 1.
        widths = [max(1, round(width * width_multiplier)) for width in STAGE_WIDTHS]
        stem = nn.Conv2d(3, widths[0], 3, 1, padding=1, bias=False)
        layers: list[nn.Module] = [stem, nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)]
        in_channels = widths[0]
        for stage, width in enumerate(widths):
            for block in range(BLOCKS_PER_STAGE):
                stride = 2 if stage > 0 and block == 0 else 1  # each later stage halves the resolution
                layers.append(BasicBlock(in_channels, width, stride))
                in_channels = width
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_channels, num_classes)
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def resnet20(num_classes: int, width_multiplier: float = 1.0) -> ResNet20:
    return ResNet20(num_classes, width_multiplier)
