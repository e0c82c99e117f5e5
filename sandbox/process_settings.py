"""The loss process's process-wide settings that torch's kernels read: fixed by trusted code before the file runs,
and read again after the file has loaded and after every call, so a file cannot change what a loss computes.

Why before: torch settles some of them once, lazily, at the first kernel. A file that exhausted its descriptors
before that made torch's CPU capability detection fail, and every later kernel in the process fell back to the
plain, non-vectorised code, which rounds differently (MobileNetV2 smoke, seed 1: robust_score 0.4274 where
cross-entropy scores 0.5113). So the capability is pinned by the launcher (ATEN_CPU_CAPABILITY, to the trainer's
own) and the first kernels run here, while only trusted code has run; each alone restored 0.5113.
"""

import os
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F

# torch reads this at its first kernel; the launcher sets it to the trainer's capability, lower-cased.
CPU_CAPABILITY_VARIABLE = "ATEN_CPU_CAPABILITY"

# Probes of the floating-point environment, as globals so that the compiler cannot fold them into constants.
_ONE = 1.0
_HALF_ULP = 2.0**-53  # of 1.0: a tie, which rounding to nearest (even) rounds down, and upward rounding does not
_THREE_QUARTERS_ULP = 3 * 2.0**-54  # nearest rounds up, towards zero and downward do not
_SMALLEST_DENORMAL = 5e-324  # zero if denormals are flushed (FTZ) or read as zero (DAZ)


def floating_point_mode() -> str:
    """The calling thread's rounding and denormal handling, as probed by arithmetic on it.

    The loss's kernels run on this thread (one intra-op thread; CPU autograd runs on its caller), and its control
    register (x86's MXCSR) is what torch.set_flush_denormal and a ctypes fesetround change.
    """
    one = _ONE
    up, down = one + _HALF_ULP == one, -one - _HALF_ULP == -one
    nearest = one + _THREE_QUARTERS_ULP > one
    rounding = "to nearest" if up and down and nearest else "not to nearest"
    denormals = "kept" if _SMALLEST_DENORMAL * one > 0.0 else "flushed to zero"
    return f"rounding {rounding}, denormals {denormals}"


@dataclass(frozen=True)
class ProcessSettings:
    """What the loss's kernels read beside their inputs: the same in every loss process, or no result."""

    cpu_capability: str  # the vectorised kernels dispatched to
    threads: int  # intra-op: how reductions split their sums
    interop_threads: int
    default_dtype: torch.dtype  # of tensors made from Python numbers
    deterministic_algorithms: bool
    fill_uninitialized_memory: bool  # with deterministic algorithms: torch.empty's contents
    float32_matmul_precision: str
    grad_enabled: bool
    cpu_autocast: bool
    floating_point: str  # floating_point_mode()

    @classmethod
    def read(cls) -> "ProcessSettings":
        return cls(
            cpu_capability=torch.backends.cpu.get_cpu_capability(),
            threads=torch.get_num_threads(),
            interop_threads=torch.get_num_interop_threads(),
            default_dtype=torch.get_default_dtype(),
            deterministic_algorithms=torch.are_deterministic_algorithms_enabled(),
            fill_uninitialized_memory=torch.utils.deterministic.fill_uninitialized_memory,
            float32_matmul_precision=torch.get_float32_matmul_precision(),
            grad_enabled=torch.is_grad_enabled(),
            cpu_autocast=torch.is_autocast_enabled("cpu"),
            floating_point=floating_point_mode(),
        )

    def changes_to(self, now: "ProcessSettings") -> str:
        """What differs in `now`, in words ('' for nothing): 'threads from 1 to 4, default_dtype from ...'."""
        return ", ".join(
            f"{field.name} from {getattr(self, field.name)!r} to {getattr(now, field.name)!r}"
            for field in fields(self)
            if getattr(self, field.name) != getattr(now, field.name)
        )


def fix_process_settings() -> ProcessSettings:
    """Set every setting to the service's and run the first kernels; the settings as read afterwards.

    RuntimeError if torch did not take the pinned CPU capability: the machine's fault, before any file ran.
    """
    # The loss of one minibatch gains nothing from more threads, and the worker's cores belong to the model.
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)  # possible only before the first parallel work: a file cannot change it
    torch.set_default_dtype(torch.float32)
    # Deterministic algorithms are off in a new process, and are only checked: setting them imports torch's
    # compiler configuration, which writes TORCHINDUCTOR_CACHE_DIR into the file's environment.
    torch.set_float32_matmul_precision("highest")
    torch.set_flush_denormal(False)
    _first_kernels()
    settings = ProcessSettings.read()
    pinned = os.environ.get(CPU_CAPABILITY_VARIABLE, "")
    if settings.cpu_capability.lower() != pinned.lower():
        raise RuntimeError(
            f"torch chose the CPU capability {settings.cpu_capability} where the trainer's, {pinned!r}, was pinned"
        )
    return settings


def _first_kernels() -> None:
    """A loss's usual kernels, forward and backward, once: torch's one-time set-ups (the CPU capability's dispatch,
    the thread pools, the autograd engine) happen now, with every resource still free."""
    logits = torch.randn(4, 3, requires_grad=True)
    loss = F.cross_entropy(logits @ torch.eye(3), torch.tensor([0, 1, 2, 0]))
    loss.backward()
