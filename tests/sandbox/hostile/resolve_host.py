"""Hostile: resolves a host name, the first step of any exfiltration."""

import socket


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        try:
            address = socket.getaddrinfo("pypi.org", 443)[0][4][0]
        except OSError as error:
            raise RuntimeError(f"resolve={type(error).__name__}") from None
        raise RuntimeError(f"resolve=resolved {address}")
