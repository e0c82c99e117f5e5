"""The models of the benchmarks, by the registry's `architecture` name, built at a class count and a width."""

from collections.abc import Callable

from torch import nn

from harness.models.mobilenetv2 import mobilenet_v2
from harness.models.resnet20 import resnet20
from harness.models.vgg16bn import vgg16_bn

# Keys are the values of harness.registry.Benchmark.architecture.
ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "resnet20": resnet20,
    "vgg16bn": vgg16_bn,
    "mobilenetv2": mobilenet_v2,
}


def build_model(architecture: str, num_classes: int, width_multiplier: float = 1.0) -> nn.Module:
    """A freshly initialised model taking (B, 3, H, W) images and returning (B, num_classes) logits."""
    try:
        factory = ARCHITECTURES[architecture]
    except KeyError:
        known = ", ".join(ARCHITECTURES)
        raise ValueError(f"unknown architecture {architecture!r}; choose one of: {known}") from None
    return factory(num_classes, width_multiplier)
