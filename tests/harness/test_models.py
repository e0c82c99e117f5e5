"""Tests of harness.models: every registered benchmark's model, published sizes, width scaling, init."""

import functools
import math

import pytest
import torch
from torch import nn

from harness.models import ARCHITECTURES, build_model
from harness.registry import BENCHMARKS, Benchmark, Suite, benchmarks_in

BATCH = 4  # BN in training mode needs more than one value per channel, even at a 1x1 final resolution

# Exact parameter counts at width 1.0, from the layer arithmetic (a BN layer has 2 parameters per channel),
# and the rounded sizes commonly published for these networks.
#
# ResNet-20, option B, 10 classes: stem 3*16*9 + 32 = 464; stage 1: 3 * (2 * 16*16*9 + 2*32) = 14,016;
# stage 2: 16*32*9 + 32*32*9 + 2*64 + shortcut (16*32 + 64) = 14,528, then 2 * (2 * 32*32*9 + 2*64) = 37,120;
# stage 3: 32*64*9 + 64*64*9 + 2*128 + shortcut (32*64 + 128) = 57,728, then 2 * (2 * 64*64*9 + 2*128)
# = 147,968; fc 64*10 + 10 = 650. Total 272,474. He et al. (2016), Table 6, publish 0.27M for option A,
# whose shortcuts have no parameters: 272,474 - 576 - 2,176 = 269,722.
#
# VGG-16-BN, 100 classes: the 13 convs with bias, sum of (c_in*9 + 1) * c_out over the cfg = 14,714,688; the
# 13 BNs 2 * (2*64 + 2*128 + 3*256 + 6*512) = 8,448 (these 14,723,136 are also the feature parameters of
# torchvision's ImageNet vgg16_bn); classifier 512*512 + 512 + 512*100 + 100 = 313,956. Total 15,037,092,
# the 15.0M usually quoted for CIFAR VGG-16-BN with a 512-wide classifier.
#
# MobileNetV2, 10 classes: torchvision's ImageNet mobilenet_v2 has 3,504,872 parameters, of which its
# 1000-class head is 1280*1000 + 1000 = 1,281,000; strides, ReLU vs ReLU6 and dropout carry no parameters,
# so with a 10-class head (1280*10 + 10 = 12,810): 3,504,872 - 1,281,000 + 12,810 = 2,236,682, the published
# 2.24M.
PUBLISHED_SIZES = [
    # architecture, classes, exact parameters, published rounded size
    ("resnet20", 10, 272_474, 0.27e6),
    ("vgg16bn", 100, 15_037_092, 15.0e6),
    ("mobilenetv2", 10, 2_236_682, 2.24e6),
]


@functools.cache
def model_at_width_one(architecture: str) -> nn.Module:
    """Built once per architecture (VGG-16-BN has 15M parameters to initialise); tests only read it."""
    torch.manual_seed(0)
    return build_model(architecture, num_classes=10)


def build_for(benchmark: Benchmark) -> nn.Module:
    torch.manual_seed(0)
    return build_model(benchmark.architecture, benchmark.num_classes, benchmark.width_multiplier)


def images_for(benchmark: Benchmark) -> torch.Tensor:
    return torch.randn(BATCH, 3, benchmark.image_size, benchmark.image_size)


@pytest.mark.parametrize("benchmark", BENCHMARKS.values(), ids=lambda b: b.key)
def test_every_registered_benchmark_builds_a_model_with_its_class_count(benchmark: Benchmark) -> None:
    logits = build_for(benchmark)(images_for(benchmark))

    assert logits.shape == (BATCH, benchmark.num_classes)


@pytest.mark.parametrize("benchmark", BENCHMARKS.values(), ids=lambda b: b.key)
def test_a_backward_pass_gives_every_parameter_a_finite_gradient(benchmark: Benchmark) -> None:
    model = build_for(benchmark)
    labels = torch.arange(BATCH) % benchmark.num_classes
    nn.functional.cross_entropy(model(images_for(benchmark)), labels).backward()

    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name


@pytest.mark.parametrize("benchmark", benchmarks_in(Suite.SMOKE), ids=lambda b: b.architecture)
def test_models_train_in_channels_last_under_bf16_autocast(benchmark: Benchmark) -> None:
    model = build_for(benchmark).to(memory_format=torch.channels_last)
    images = images_for(benchmark).to(memory_format=torch.channels_last)
    labels = torch.arange(BATCH) % benchmark.num_classes
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(images)
    nn.functional.cross_entropy(logits.float(), labels).backward()

    assert logits.dtype == torch.bfloat16
    assert logits.shape == (BATCH, benchmark.num_classes)
    assert all(torch.isfinite(parameter.grad).all() for parameter in model.parameters())


@pytest.mark.parametrize(("architecture", "num_classes", "exact", "published"), PUBLISHED_SIZES)
def test_parameter_counts_at_width_one_match_the_published_architectures(
    architecture: str, num_classes: int, exact: int, published: float
) -> None:
    count = sum(parameter.numel() for parameter in build_model(architecture, num_classes).parameters())

    assert count == exact
    assert abs(count - published) / published < 0.02


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_half_width_halves_every_channel_count_but_the_class_count(architecture: str) -> None:
    torch.manual_seed(0)
    half = build_model(architecture, num_classes=10, width_multiplier=0.5)
    layer_types = (nn.Conv2d, nn.Linear, nn.BatchNorm2d)
    full_layers = [m for m in model_at_width_one(architecture).modules() if isinstance(m, layer_types)]
    half_layers = [m for m in half.modules() if isinstance(m, layer_types)]

    assert [type(m) for m in half_layers] == [type(m) for m in full_layers]
    for full_layer, half_layer in zip(full_layers[:-1], half_layers[:-1], strict=True):
        assert half_layer.weight.shape[0] * 2 == full_layer.weight.shape[0], full_layer
    assert half_layers[-1].out_features == 10


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_batch_norm_starts_as_the_identity_and_every_bias_at_zero(architecture: str) -> None:
    for module in model_at_width_one(architecture).modules():
        if isinstance(module, nn.BatchNorm2d):
            assert torch.equal(module.weight, torch.ones_like(module.weight)), module
        if isinstance(module, (nn.BatchNorm2d, nn.Conv2d, nn.Linear)) and module.bias is not None:
            assert torch.equal(module.bias, torch.zeros_like(module.bias)), module


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_weights_are_kaiming_normal_by_fan_out_for_convs_and_fan_in_for_linears(architecture: str) -> None:
    for module in model_at_width_one(architecture).modules():
        if not isinstance(module, (nn.Conv2d, nn.Linear)):
            continue
        weight = module.weight.detach()
        receptive_field = weight[0, 0].numel()  # 1 for a Linear
        fan = weight.shape[0] * receptive_field if isinstance(module, nn.Conv2d) else weight.shape[1]
        # the relative standard error of a sample standard deviation is about 1 / sqrt(2n): allow 5 of them
        tolerance = 5 / math.sqrt(2 * weight.numel())
        assert weight.std().item() == pytest.approx(math.sqrt(2 / fan), rel=tolerance), module


def test_an_unknown_architecture_is_refused_with_the_known_names() -> None:
    with pytest.raises(ValueError, match="unknown architecture 'resnet50'; choose one of: resnet20, vgg16bn"):
        build_model("resnet50", num_classes=10)
