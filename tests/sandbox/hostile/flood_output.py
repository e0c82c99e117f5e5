"""Hostile: floods stdout and stderr, hoping to fill the worker's disk or logs."""

import sys


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        line = "flood " * 2000
        while True:
            print(line)
            print(line, file=sys.stderr)
