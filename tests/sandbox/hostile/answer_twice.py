"""Hostile: answers a step twice, by writing a well-formed reply onto its socket before the real one."""

import struct
import sys

import torch.nn.functional as F


class RobustLoss:
    steps = 0

    def compute_loss(self, logits, labels, epoch):
        self.steps += 1
        socket_fd = int(sys.argv[1])  # the loss process's end of the socket, named on its command line
        status_ok, loss_value, no_text = 3, 0.0, 0
        with open(socket_fd, "wb", buffering=0, closefd=False) as channel:
            channel.write(struct.pack("<BQdI", status_ok, self.steps, loss_value, no_text))
        return F.cross_entropy(logits, labels)
