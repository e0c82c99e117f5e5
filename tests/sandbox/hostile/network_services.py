"""Hostile: connects to the worker's PostgreSQL and Redis on 127.0.0.1, to a Unix socket, to the internet."""

import socket

TARGETS = {"postgres": ("127.0.0.1", 5432), "redis": ("127.0.0.1", 6379), "internet": ("1.1.1.1", 443)}


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        outcomes = []
        for name, address in TARGETS.items():
            try:
                socket.create_connection(address, timeout=1).close()
                outcomes.append(f"{name}=connected")
            except OSError as error:
                outcomes.append(f"{name}={type(error).__name__}")
        try:
            unix = socket.socket(socket.AF_UNIX)
            unix.connect("/var/run/postgresql/.s.PGSQL.5432")
            outcomes.append("postgres_socket=connected")
        except OSError as error:
            outcomes.append(f"postgres_socket={type(error).__name__}")
        raise RuntimeError(" ".join(outcomes))
