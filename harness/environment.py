"""The environment a run ran on, stored with its result: a figure differs across CPUs, GPUs and library builds."""

import platform
import sys

import torch


def describe_environment(device: torch.device) -> dict[str, str]:
    environment = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda or "none",
        "device": device.type,
        "device_name": platform.processor() or platform.machine(),
        "threads": str(torch.get_num_threads()),
    }
    if device.type == "cuda":
        environment["device_name"] = torch.cuda.get_device_name(device)
        environment["cudnn"] = str(torch.backends.cudnn.version())
    return environment
