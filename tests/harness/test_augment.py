"""On-device crop and flip match torchvision's RandomCrop(padding, zero fill) and horizontal flip."""

import torch

from harness.augment import eval_transform, random_crop, random_flip, train_transform


def _images(batch: int = 6, size: int = 8) -> torch.Tensor:
    return torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(0)) + 0.5  # no zeros inside


def test_each_cropped_image_is_a_window_of_the_zero_padded_original():
    images = _images()
    crops = random_crop(images, padding=2, generator=torch.Generator().manual_seed(1))
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2))
    assert crops.shape == images.shape
    for crop, original in zip(crops, padded, strict=True):
        windows = [original[:, r : r + 8, c : c + 8] for r in range(5) for c in range(5)]
        assert any(torch.equal(crop, window) for window in windows)


def test_crops_use_different_offsets_across_a_batch_and_padding_shows_as_zeros():
    images = _images(batch=64)
    crops = random_crop(images, padding=2, generator=torch.Generator().manual_seed(2))
    shifted = (crops == 0).flatten(1).any(dim=1)
    assert 0 < shifted.sum() < 64  # offset (2, 2) keeps no zeros; most offsets bring padding in


def test_flip_mirrors_about_half_the_images_and_leaves_the_rest():
    images = _images(batch=200)
    flipped = random_flip(images, torch.Generator().manual_seed(3))
    mirrored = torch.tensor([torch.equal(f, i.flip(-1)) for f, i in zip(flipped, images, strict=True)])
    same = torch.tensor([torch.equal(f, i) for f, i in zip(flipped, images, strict=True)])
    assert torch.all(mirrored | same)
    assert 70 < mirrored.sum() < 130


def test_the_same_generator_seed_gives_the_same_augmentation():
    uint8 = (torch.rand(16, 3, 8, 8, generator=torch.Generator().manual_seed(4)) * 255).to(torch.uint8)
    mean, std = torch.full((1, 3, 1, 1), 0.5), torch.full((1, 3, 1, 1), 0.25)
    first = train_transform(uint8, 1, mean, std, torch.Generator().manual_seed(5))
    second = train_transform(uint8, 1, mean, std, torch.Generator().manual_seed(5))
    assert torch.equal(first, second)


def test_eval_transform_is_to_tensor_then_normalise():
    uint8 = torch.tensor([0, 51, 255], dtype=torch.uint8).view(1, 3, 1, 1)
    mean, std = torch.tensor([0.2, 0.2, 0.2]).view(1, 3, 1, 1), torch.tensor([0.5, 0.5, 0.5]).view(1, 3, 1, 1)
    assert torch.allclose(eval_transform(uint8, mean, std).flatten(), torch.tensor([-0.4, 0.0, 1.6]))
