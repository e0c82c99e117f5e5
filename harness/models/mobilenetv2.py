"""MobileNetV2 (Sandler et al. 2018) for 32x32 images as the original harness has it: stride-1 stem, plain ReLU."""

import torch
from torch import Tensor, nn

from harness.models.init import init_weights

STEM_CHANNELS = 32
# Inverted residual stages: expansion t, output channels c, repeats n, stride s of the first repeat. The CIFAR
# variant keeps stride 1 in the stem and in the 24-channel stage, where the ImageNet network has stride 2.
INVERTED_RESIDUAL_SETTINGS = [
    # t, c, n, s
    (1, 16, 1, 1),
    (6, 24, 2, 1),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]
LAST_CHANNELS = 1280  # the final 1x1 conv before global average pooling


def conv_bn_relu(
    in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, groups: int = 1
) -> nn.Sequential:
    padding = (kernel_size - 1) // 2
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, groups=groups, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class InvertedResidual(nn.Module):
    """1x1 expansion (none when t = 1), 3x3 depthwise, linear 1x1 projection; residual where shapes match."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        layers = [conv_bn_relu(in_channels, hidden, 1)] if expansion != 1 else []
        layers += [
            conv_bn_relu(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: Tensor) -> Tensor:
        return x + self.block(x) if self.residual else self.block(x)


class MobileNetV2(nn.Module):
    def __init__(self, num_classes: int, width_multiplier: float = 1.0) -> None:
        super().__init__()

        # Every channel count, the last conv's included, scales by the multiplier, rounded to the nearest
        # integer and at least 1, as in our other models. torchvision's round-to-a-multiple-of-8 rule only
        # aligns widths for hardware, and at width 0.5 would give the 24-channel stage 16, not 12: not used.
        def scaled(channels: int) -> int:
            return max(1, round(channels * width_multiplier))

        in_channels = scaled(STEM_CHANNELS)
        layers: list[nn.Module] = [conv_bn_relu(3, in_channels, 3)]
        for expansion, channels, repeats, stride in INVERTED_RESIDUAL_SETTINGS:
            for repeat in range(repeats):
                block_stride = stride if repeat == 0 else 1
                layers.append(InvertedResidual(in_channels, scaled(channels), block_stride, expansion))
                in_channels = scaled(channels)
        layers.append(conv_bn_relu(in_channels, scaled(LAST_CHANNELS), 1))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(scaled(LAST_CHANNELS), num_classes)
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def mobilenet_v2(num_classes: int, width_multiplier: float = 1.0) -> MobileNetV2:
    return MobileNetV2(num_classes, width_multiplier)
