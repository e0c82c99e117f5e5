"""On-device batch augmentation and normalisation: the original transforms (docs/published-results.md), per batch."""

import torch
import torch.nn.functional as F


def random_crop(images: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Random crop back to the input size after `padding` pixels of zeros on every side, one offset per image.

    Zero padding happens on the [0, 1] scale before normalisation, as torchvision's RandomCrop on the raw image.
    One gather for the whole batch instead of a Python loop over images.
    """
    if padding == 0:
        return images
    batch, _, height, width = images.shape
    padded = F.pad(images, (padding,) * 4)
    offsets = torch.randint(0, 2 * padding + 1, (2, batch, 1), device=images.device, generator=generator)
    rows = (offsets[0] + torch.arange(height, device=images.device))[:, None, :, None]  # (B, 1, H, 1)
    cols = (offsets[1] + torch.arange(width, device=images.device))[:, None, None, :]  # (B, 1, 1, W)
    batch_index = torch.arange(batch, device=images.device)[:, None, None, None]
    channel_index = torch.arange(images.shape[1], device=images.device)[None, :, None, None]
    return padded[batch_index, channel_index, rows, cols]


def random_flip(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Horizontal flip of each image with probability 1/2."""
    flip = torch.rand(images.shape[0], device=images.device, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], images.flip(-1), images)


def to_unit_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [0, 1], as torchvision's ToTensor."""
    return images.float().div_(255.0)


def normalize(images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    return (images - mean) / std


def train_transform(
    images: torch.Tensor, padding: int, mean: torch.Tensor, std: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """uint8 batch -> random crop (zero padding) -> horizontal flip -> normalise."""
    unit = to_unit_float(images)
    return normalize(random_flip(random_crop(unit, padding, generator), generator), mean, std)


def eval_transform(images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    return normalize(to_unit_float(images), mean, std)
