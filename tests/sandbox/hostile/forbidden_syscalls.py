"""Hostile: tries the system calls that escape a sandbox: mount, namespaces, bpf, keyrings, io_uring..."""

import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
# x86_64 system call numbers, with harmless arguments: only whether the kernel lets the call through matters.
CALLS = {
    "mount": (165, b"none", b"/tmp", b"tmpfs", 0, None),
    "unshare": (272, 0x10000000),  # CLONE_NEWUSER
    "setns": (308, 0, 0),
    "bpf": (321, 0, None, 0),
    "keyctl": (250, 0, 0),
    "perf_event_open": (298, None, 0, -1, -1, 0),
    "io_uring_setup": (425, 1, None),
    "userfaultfd": (323, 0),
    "process_vm_readv": (310, 1, None, 0, None, 0, 0),
}


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        outcomes = []
        for name, (number, *arguments) in CALLS.items():
            result = libc.syscall(number, *arguments)
            outcomes.append(f"{name}={'allowed' if result >= 0 else os.strerror(ctypes.get_errno())}")
        raise RuntimeError(" ".join(outcomes))
