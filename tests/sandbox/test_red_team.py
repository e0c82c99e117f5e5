"""The red-team corpus: every file under hostile/ ends as a failed run with a clear reason; the worker
survives, nothing is written outside the loss's scratch /tmp, no secret leaks, no process outlives its run."""

import os
import platform
import pwd
import re
import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import harness
from harness.contract import LossContractError
from harness.losses import loss_path
from sandbox.client import LossProcess
from sandbox.config import SandboxConfig
from sandbox.proxy import open_sandboxed_loss

pytestmark = pytest.mark.slow

HOSTILE = Path(__file__).parent / "hostile"
REPOSITORY = Path(harness.__file__).parents[1]
CANARY = (Path(__file__).parent / "canary.txt").read_text().strip()  # a host file the corpus tries to read
SECRET_NAME, SECRET_VALUE = "POISONBENCH_TEST_SECRET", "hunter2-in-the-workers-environment"
NOT_FOUND, DENIED = "FileNotFoundError", "Operation not permitted"
TREE_DEATH_SECONDS = 5.0
X86_64_ONLY = pytest.mark.skipif(platform.machine() != "x86_64", reason="x86_64 system call numbers")

# Each hostile file and what its run's failure must say (a regular expression). A file that tries to obtain
# something raises with whatever it obtained, so its message also shows what it could not obtain.
EXPECTED = {
    "network_services": (
        f"postgres=PermissionError redis=PermissionError internet=PermissionError postgres_socket={NOT_FOUND}"
    ),
    "resolve_host": "resolve=gaierror",
    "read_host_files": " ".join(
        f"{name}={NOT_FOUND}" for name in ("shadow", "passwd", "root_home", "canary", "proc_root_canary", "git_config")
    ),
    "read_dataset_root": rf"repository=\[('\.venv', )?'harness', 'sandbox'\] \S+/data={NOT_FOUND}",
    "read_environment": (
        r"environment=\{'own': \['ATEN_CPU_CAPABILITY', 'HOME', 'LANG', 'OMP_NUM_THREADS', 'PWD'\], '1': "
    ),
    # A repository under /tmp sits inside the loss's own scratch tmpfs, so a write beside it lands in scratch (the
    # host check below still finds nothing); anywhere else that folder is read-only.
    "write_outside_scratch": (
        "repository=(OSError|written)" if REPOSITORY.is_relative_to("/tmp") else "repository=OSError"
    )
    + " package=OSError root=OSError shm=OSError scratch=written",
    "fork_bomb": "line 9: compute_loss raised PermissionError",
    "memory_bomb": "line 10: compute_loss raised RuntimeError: .*can't allocate memory",
    "cpu_spin": "compute_loss took more than 5 s on one minibatch at epoch 0",
    "import_loop": "importing the file took more than 5 s",
    "sleep_forever": "compute_loss took more than 5 s on one minibatch at epoch 0",
    "kill_parent": r"visible=\[1, 2\] parent=1 .* kill\(-1\)=ProcessLookupError",  # its pid namespace only
    "ptrace_parent": rf"ptrace\(1\)={DENIED} ptrace\(1\)={DENIED} mem=",
    "flood_output": "wrote more than its 1,048,576 bytes to stdout/stderr",
    "return_nan": "compute_loss returned a NaN or infinite loss at epoch 0",
    "return_non_scalar": r"must return a scalar loss, got a tensor of shape \(32,\)",
    "return_detached": "does not depend on the logits",
    "raise_in_loss": "line 6: compute_loss raised ValueError: no loss for you",
    "forbidden_syscalls": " ".join(
        f"{name}={DENIED}"
        for name in ("mount", "unshare", "setns", "bpf", "keyctl", "perf_event_open", "io_uring_setup")
    ),
    "forge_reply": "the loss process broke the sandbox's protocol",
    "answer_twice": "the loss process broke the sandbox's protocol",
    "write_through_inputs": "mprotect=EACCES reopen_mmap=EPERM reopen_write=EPERM proc_mem=EIO shrink_gradient=EPERM",
    "scribble_inputs": "the loss process died in compute_loss at epoch 0: it was killed by SIGSEGV",
    "crash": "the loss process died in compute_loss at epoch 0: it was killed by SIGSEGV",
}
WRITE_TARGETS = (  # where write_outside_scratch writes, seen from the host
    REPOSITORY / "PWNED-by-hostile-loss",
    Path(harness.__file__).parent / "PWNED-by-hostile-loss",
    Path("/PWNED-by-hostile-loss"),
    Path("/dev/shm/PWNED-by-hostile-loss"),
    Path("/tmp/PWNED-by-hostile-loss"),  # its scratch /tmp is its own, not the host's
)


@pytest.fixture(scope="module")
def outcomes(sandbox_config, train_steps, in_parallel) -> dict[str, str]:
    """Each hostile file's run: its failure message, or 'no failure'; a secret in the worker's environment."""

    def run(path: Path) -> str:
        try:
            with open_sandboxed_loss(path.read_text(), sandbox_config) as loss_fn:
                train_steps(loss_fn)
        except LossContractError as error:
            return str(error)
        return "no failure"

    paths = sorted(HOSTILE.glob("*.py"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SECRET_NAME, SECRET_VALUE)
        return dict(zip((path.stem for path in paths), in_parallel(run, paths), strict=True))


def test_the_corpus_has_an_expected_outcome_for_each_of_its_at_least_15_files(outcomes):
    assert set(outcomes) == set(EXPECTED)
    assert len(EXPECTED) >= 15


@pytest.mark.parametrize(
    "name",
    [pytest.param(name, marks=X86_64_ONLY) if name == "forbidden_syscalls" else name for name in EXPECTED],
)
def test_each_hostile_file_fails_its_run_with_a_clear_reason(outcomes, name):
    assert re.search(EXPECTED[name], outcomes[name]), outcomes[name]


def test_no_secret_of_the_worker_reaches_any_hostile_file(outcomes):
    for name, message in outcomes.items():
        assert SECRET_VALUE not in message, name
        assert SECRET_NAME not in message, name
        assert CANARY not in message, name


def test_nothing_is_written_outside_the_scratch_directory(outcomes):
    assert "scratch=written" in outcomes["write_outside_scratch"]
    assert [path for path in WRITE_TARGETS if path.exists()] == []


def test_the_worker_survives_the_corpus_and_runs_an_honest_loss_afterwards(
    outcomes, sandbox_config, train_steps, minibatch
):
    with open_sandboxed_loss(loss_path("cross_entropy").read_text(), sandbox_config) as loss_fn:
        train_steps(loss_fn)
        logits, labels = minibatch
        assert torch.allclose(loss_fn(logits, labels, 0), F.cross_entropy(logits, labels))


def _children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])  # the field after the command's name
        except OSError:  # it ended while we looked
            continue
        if parent == pid:
            children.append(int(stat.parent.name))
    return children


def _tree(pid: int) -> list[int]:
    return [pid, *(descendant for child in _children(pid) for descendant in _tree(child))]


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        alive.append(pid)
    return alive


def test_a_timeout_kills_the_loss_processs_whole_tree(minibatch):
    source = (HOSTILE / "sleep_forever.py").read_text()
    with LossProcess.start(source, SandboxConfig(call_timeout=1.0)) as loss_process:
        tree = _tree(loss_process.launched.process.pid)
        assert len(tree) == 3  # bubblewrap, the init of the pid namespace, the loss process
        with pytest.raises(LossContractError, match="took more than 1 s"):
            loss_process.call(*minibatch, epoch=0)
    # The pid namespace's processes get their SIGKILL through bubblewrap's parent-death signal: in moments.
    deadline = time.monotonic() + TREE_DEATH_SECONDS
    while _alive(tree) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _alive(tree) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="only a root worker drops to the sandbox user")
def test_a_root_worker_runs_the_loss_as_the_unprivileged_sandbox_user_without_capabilities(sandbox_config, minibatch):
    probe = (
        "class RobustLoss:\n"
        "    def compute_loss(self, logits, labels, epoch):\n"
        "        lines = open('/proc/self/status').read().splitlines()\n"
        "        status = dict(line.split(':', 1) for line in lines)\n"
        "        fields = ('Uid', 'CapEff', 'NoNewPrivs', 'Seccomp')\n"
        "        raise RuntimeError(' '.join(f'{f}={status[f].split()[0]}' for f in fields))\n"
    )
    with pytest.raises(LossContractError) as failure, open_sandboxed_loss(probe, sandbox_config) as loss_fn:
        loss_fn(*minibatch, 0)
    uid = pwd.getpwnam(sandbox_config.user).pw_uid
    assert f"Uid={uid} CapEff=0000000000000000 NoNewPrivs=1 Seccomp=2" in str(failure.value)
