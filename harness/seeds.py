"""Named seed streams derived from one run seed, so each source of randomness is reproducible on its own."""

import hashlib
from enum import StrEnum

import torch


class Stream(StrEnum):
    INIT = "init"  # model weights
    ORDER = "order"  # minibatch order
    AUGMENT = "augment"  # random crop and flip during training
    EVAL_AUGMENT = "eval-augment"  # the train transform applied when measuring poison_fit
    FLIP = "flip"  # of the poison seed, scoped by benchmark: its hidden flip (harness.poisoning.benchmark_flip)


def stream_seed(run_seed: int, stream: Stream, scope: str = "") -> int:
    """A 63-bit seed for one stream, or for its own copy of the stream in `scope` (e.g. a benchmark's key): a hash,
    so neighbouring run seeds, and scopes, give unrelated streams."""
    name = f"{run_seed}/{stream}/{scope}" if scope else f"{run_seed}/{stream}"
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def generator(run_seed: int, stream: Stream, device: torch.device | str = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(stream_seed(run_seed, stream))
