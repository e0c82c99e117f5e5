"""Hostile: finds the shared inputs buffer in /proc/self/maps and overwrites it in place with ctypes."""

import ctypes
from pathlib import Path


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        for line in Path("/proc/self/maps").read_text().splitlines():
            if "poisonbench-loss-inputs" in line:
                start, end = (int(address, 16) for address in line.split()[0].split("-"))
                ctypes.memset(start, 0x7F, end - start)  # read-only: this kills the process
        raise RuntimeError("found no inputs buffer to scribble on")
