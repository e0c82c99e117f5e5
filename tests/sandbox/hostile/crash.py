"""Hostile: crashes the interpreter with a segmentation fault."""

import ctypes


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        ctypes.string_at(0)
