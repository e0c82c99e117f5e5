"""Hostile: writes a forged reply straight onto the loss process's socket, hoping the trainer believes it."""

import os
import struct
import sys


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        socket_fd = int(sys.argv[1])  # the loss process's end of the socket, named on its command line
        os.write(socket_fd, struct.pack("<BdI", 9, 0.0, 2**31))
        return logits.sum()
