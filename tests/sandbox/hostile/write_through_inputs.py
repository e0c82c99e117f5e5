"""Hostile: tries every way to get write access to the shared inputs buffer, and to resize the gradient's."""

import ctypes
import errno
import mmap
import os
from pathlib import Path

PROT_READ_WRITE = mmap.PROT_READ | mmap.PROT_WRITE


def _mapping(name: str) -> tuple[int, int]:
    """A shared buffer's address and mapped size (whole pages)."""
    for line in Path("/proc/self/maps").read_text().splitlines():
        if f"poisonbench-loss-{name}" in line:
            start, end = (int(address, 16) for address in line.split()[0].split("-"))
            return start, end - start
    raise RuntimeError(f"no {name} mapping")


def _descriptor(name: str) -> int:
    for entry in os.listdir("/proc/self/fd"):
        try:
            if f"poisonbench-loss-{name}" in os.readlink(f"/proc/self/fd/{entry}"):
                return int(entry)
        except OSError:
            continue
    raise RuntimeError(f"no {name} descriptor")


def _attempt(action) -> str:
    try:
        action()
    except OSError as error:
        return errno.errorcode.get(error.errno, type(error).__name__)
    return "done"


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        address, mapped = _mapping("inputs")
        inputs, gradient = _descriptor("inputs"), _descriptor("gradient")
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)

        def make_writable():
            if libc.mprotect(address, mapped, PROT_READ_WRITE) != 0:
                raise OSError(ctypes.get_errno(), "mprotect")

        def reopen_and_map():
            with open(f"/proc/self/fd/{inputs}", "r+b", buffering=0) as reopened:
                mmap.mmap(reopened.fileno(), os.fstat(inputs).st_size)

        def reopen_and_write():
            with open(f"/proc/self/fd/{inputs}", "r+b", buffering=0) as reopened:
                reopened.write(b"\x7f" * 16)

        def write_own_memory():
            with open("/proc/self/mem", "r+b", buffering=0) as memory:
                memory.seek(address)
                memory.write(b"\x7f" * 16)

        def shrink_gradient():
            os.ftruncate(gradient, 0)

        outcomes = {
            "mprotect": _attempt(make_writable),
            "reopen_mmap": _attempt(reopen_and_map),
            "reopen_write": _attempt(reopen_and_write),
            "proc_mem": _attempt(write_own_memory),
            "shrink_gradient": _attempt(shrink_gradient),
        }
        raise RuntimeError(" ".join(f"{name}={outcome}" for name, outcome in outcomes.items()))
