"""A sandbox that cannot start is the machine's fault: SandboxUnavailableError, with what to fix."""

import os
from dataclasses import replace
from pathlib import Path

import pytest

from harness.losses import loss_path
from sandbox import SandboxUnavailableError
from sandbox.proxy import open_sandboxed_loss

pytestmark = pytest.mark.slow

SOURCE = loss_path("cross_entropy").read_text()
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="only a root worker drops to the sandbox user")


def _start(config) -> None:
    with open_sandboxed_loss(SOURCE, config):
        pass


def test_a_missing_bubblewrap_makes_the_sandbox_unavailable_and_says_how_to_install_it(sandbox_config):
    with pytest.raises(
        SandboxUnavailableError, match="bubblewrap is not installed at /nonexistent/bwrap: apt-get"
    ):
        _start(replace(sandbox_config, bwrap=Path("/nonexistent/bwrap")))


@root_only
def test_a_root_worker_refuses_to_run_a_loss_without_the_dedicated_user(sandbox_config):
    with pytest.raises(SandboxUnavailableError, match="no user 'no-such-user'.*useradd --system"):
        _start(replace(sandbox_config, user="no-such-user"))


@root_only
def test_a_root_worker_refuses_a_sandbox_user_that_is_root(sandbox_config):
    with pytest.raises(SandboxUnavailableError, match="must not be root"):
        _start(replace(sandbox_config, user="root"))


def test_bubblewraps_own_complaint_reaches_the_message_when_it_cannot_set_up(sandbox_config):
    broken = replace(sandbox_config, read_only_paths=(*sandbox_config.read_only_paths, Path("/nonexistent")))
    with pytest.raises(
        SandboxUnavailableError, match="the sandbox could not start: .*/nonexistent.*docs/security.md"
    ):
        _start(broken)


def test_an_interpreter_that_never_starts_is_the_machines_fault_not_the_files(sandbox_config):
    with pytest.raises(SandboxUnavailableError, match="did not start within 0.5 s"):
        _start(replace(sandbox_config, startup_timeout=0.5))
