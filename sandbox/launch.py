"""Starting the loss process: uid drop, new session, rlimits, then bubblewrap with the seccomp filter.

With the sandbox off, the same loss process runs as a plain child process with the caller's rights.
"""

import contextlib
import os
import pwd
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sandbox import SandboxUnavailableError
from sandbox.config import SandboxConfig, SandboxMode
from sandbox.process_settings import CPU_CAPABILITY_VARIABLE
from sandbox.seccomp import seccomp_program

PRLIMIT = Path("/usr/bin/prlimit")  # util-linux, essential on Debian: sets the rlimits after the uid drop
CPU_GRACE_SECONDS = 5  # SIGXCPU at the soft limit names the cause; SIGKILL this much later if it is ignored
# The loss process's environment, beside the pinned CPU capability: nothing inherited, no secret. One OpenMP
# thread: a minibatch's loss gains nothing from more, and the worker's cores belong to the model.
LOSS_PROCESS_ENV = {"HOME": "/tmp", "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1"}
HOST_SYMLINKS = ("bin", "lib", "lib32", "lib64", "libx32", "sbin")  # merged-/usr systems link these into /usr
SETUP_HINT = "see 'Running the sandbox' in docs/security.md"


@dataclass
class LaunchedProcess:
    """A started loss process: the trusted end of its socket, and the memfd its stdout and stderr go to."""

    process: subprocess.Popen
    channel: socket.socket
    output: int


def launch(
    config: SandboxConfig, cpu_capability: str, inherited_fds: Sequence[int] = (), arguments: Sequence[str] = ()
) -> LaunchedProcess:
    """Start `python -m sandbox.loss_process` as `config` says; SandboxUnavailableError if it cannot start.

    torch in it uses the kernels of `cpu_capability` (torch.backends.cpu.get_cpu_capability() of the trainer),
    whatever its own detection would find; `inherited_fds` stay open in it under the same numbers; `arguments`
    follow its socket's on its command line.
    """
    environment = {**LOSS_PROCESS_ENV, CPU_CAPABILITY_VARIABLE: cpu_capability.lower()}
    channel, confined_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    output = os.memfd_create("poisonbench-loss-output")
    try:
        with contextlib.ExitStack() as parent_copies:  # the child has its own copies once started
            parent_copies.callback(confined_end.close)
            inherited = [confined_end.fileno(), *inherited_fds]
            command = [str(config.python), "-I", "-B", "-m", "sandbox.loss_process", str(inherited[0]), *arguments]
            privileges = {}
            if config.mode is SandboxMode.REQUIRED:
                privileges = _drop_root(config)
                program = _memfd("poisonbench-seccomp", seccomp_program())
                parent_copies.callback(os.close, program)
                inherited.append(program)
                command = [*_rlimits(config), *_bubblewrap(config, environment, program), *command]
            try:
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=output,
                    cwd="/",
                    env=environment,
                    pass_fds=inherited,
                    start_new_session=True,  # no controlling terminal, and one process group to kill
                    **privileges,
                )
            except OSError as error:  # prlimit or the interpreter missing, or not executable
                message = f"the loss process did not start: {error}; {SETUP_HINT}"
                raise SandboxUnavailableError(message) from None
    except BaseException:
        channel.close()
        os.close(output)
        raise
    return LaunchedProcess(process, channel, output)


def _drop_root(config: SandboxConfig) -> dict:
    """Popen's arguments that switch a root caller to the dedicated user; none for a caller that is not root.

    Bubblewrap started as root is no sandbox: its child keeps root's capabilities, can remount, read anything.
    """
    if os.geteuid() != 0:
        return {}
    try:
        user = pwd.getpwnam(config.user)
    except KeyError:
        raise SandboxUnavailableError(
            f"no user {config.user!r} to run the loss as; create it with: useradd --system --no-create-home "
            f"--shell /usr/sbin/nologin {config.user} (scripts/setup does)"
        ) from None
    if user.pw_uid == 0 or user.pw_gid == 0:
        raise SandboxUnavailableError(f"the sandbox user {config.user!r} must not be root or in group root")
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _memfd(name: str, content: bytes) -> int:
    descriptor = os.memfd_create(name)
    os.write(descriptor, content)
    os.lseek(descriptor, 0, os.SEEK_SET)
    return descriptor


def _rlimits(config: SandboxConfig) -> list[str]:
    cpu, memory = config.cpu_seconds, config.address_space_bytes
    return [
        str(PRLIMIT),
        f"--cpu={cpu}:{cpu + CPU_GRACE_SECONDS}",
        f"--as={memory}:{memory}",
        f"--nofile={config.open_files}:{config.open_files}",
        f"--fsize={config.output_bytes}:{config.output_bytes}",
        "--core=0:0",
        "--",
    ]


def _bubblewrap(config: SandboxConfig, environment: dict[str, str], seccomp_fd: int) -> list[str]:
    """Unprivileged bubblewrap: every namespace new, an empty root with read-only mounts, a tmpfs /tmp."""
    if not config.bwrap.is_file():
        raise SandboxUnavailableError(
            f"bubblewrap is not installed at {config.bwrap}: apt-get install bubblewrap (scripts/setup does)"
        )
    command = [
        str(config.bwrap),
        "--unshare-all",  # network, pid, ipc, uts and cgroup namespaces, with the user namespace below
        "--unshare-user",
        "--disable-userns",  # and no nested user namespace in which to regain capabilities
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--hostname",
        "sandbox",
    ]
    for name, value in environment.items():
        command += ["--setenv", name, value]
    # The scratch /tmp first: mounts made after it stay visible when the project itself lives under /tmp.
    command += ["--size", str(config.scratch_bytes), "--tmpfs", "/tmp"]
    for path in config.read_only_paths:
        command += ["--ro-bind", str(path), str(path)]
    for name in HOST_SYMLINKS:
        link = Path("/", name)
        if link.is_symlink():
            command += ["--symlink", os.readlink(link), str(link)]
    command += ["--proc", "/proc", "--dev", "/dev"]  # the new pid namespace's procfs; null, zero, urandom
    command += ["--chdir", "/tmp"]
    # The root and /dev are tmpfs without a size limit: read-only, so the sized /tmp is the only scratch.
    command += ["--remount-ro", "/dev", "--remount-ro", "/"]
    return [*command, "--seccomp", str(seccomp_fd), "--"]
