"""The original harness's weight initialisation, shared by every architecture (docs/published-results.md)."""

from torch import nn


def init_weights(model: nn.Module) -> None:
    """He init suits ReLU networks (fan_out for convs, fan_in for linears); BN starts as the identity; biases 0."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
        elif isinstance(module, nn.Linear):
            nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
        if isinstance(module, nn.Conv2d | nn.BatchNorm2d | nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
