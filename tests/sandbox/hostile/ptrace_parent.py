"""Hostile: attaches to its parent with ptrace and reads another process's memory."""

import ctypes
import os

PTRACE_ATTACH = 16
libc = ctypes.CDLL(None, use_errno=True)


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        outcomes = []
        for pid in (os.getppid(), 1):
            result = libc.ptrace(PTRACE_ATTACH, pid, None, None)
            outcomes.append(f"ptrace({pid})={'attached' if result == 0 else os.strerror(ctypes.get_errno())}")
        try:
            with open(f"/proc/{os.getppid()}/mem", "rb") as memory:
                memory.read(1)
            outcomes.append("mem=read")
        except OSError as error:
            outcomes.append(f"mem={type(error).__name__}")
        raise RuntimeError(" ".join(outcomes))
