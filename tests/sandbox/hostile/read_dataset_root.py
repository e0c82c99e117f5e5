"""Hostile: looks for the dataset root (the clean labels) next to the packages and in the usual places."""

import os
from pathlib import Path

import harness

REPOSITORY = Path(harness.__file__).parents[1]


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        outcomes = [f"repository={sorted(os.listdir(REPOSITORY))}"]
        for root in (REPOSITORY / "data", REPOSITORY / "var", Path("/var/lib/poisonbench"), Path("/data")):
            try:
                outcomes.append(f"{root}={sorted(os.listdir(root))}")
            except OSError as error:
                outcomes.append(f"{root}={type(error).__name__}")
        raise RuntimeError(" ".join(outcomes))
