"""The loss process's seccomp filter: the system calls that could reach past the sandbox fail with EPERM."""

import errno
import functools
import os
import socket

import pyseccomp as seccomp

CLONE_THREAD = 0x00010000  # <linux/sched.h>: without it, clone() makes a new process rather than a thread

# EPERM rather than a kill: Python raises PermissionError, so the participant's message names the line.
DENIED = (
    # other processes' memory
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    # mounts and namespaces: the ones bubblewrap made are final
    "mount",
    "umount2",
    "pivot_root",
    "fsopen",
    "fsconfig",
    "fsmount",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "unshare",
    "setns",
    # kernel interfaces a loss has no use for, each a frequent source of privilege escalations
    "bpf",
    "keyctl",
    "add_key",
    "request_key",
    "perf_event_open",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "userfaultfd",
    # new processes: a loss needs none, and a fork bomb then fails at its first fork (threads stay allowed)
    "fork",
    "vfork",
)


@functools.cache
def seccomp_program() -> bytes:
    """The filter compiled to the BPF program that bubblewrap's --seccomp installs before it starts Python."""
    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    # A system call of another architecture (x86's int 0x80) has other numbers the rules would miss: it kills.
    rules.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)
    deny = seccomp.ERRNO(errno.EPERM)
    for name in DENIED:
        rules.add_rule(deny, name)
    rules.add_rule(deny, "socket", seccomp.Arg(0, seccomp.NE, socket.AF_UNIX))
    rules.add_rule(deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, 0))
    # clone3 passes its flags in memory, out of a filter's reach; ENOSYS makes glibc fall back to clone.
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    with open(os.memfd_create("poisonbench-seccomp"), "w+b") as program:
        rules.export_bpf(program)
        program.seek(0)
        return program.read()
