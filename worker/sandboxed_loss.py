"""How the service opens a stored loss file: in the sandbox, cited by its uploaded name (the default when it was
sent without one). The run task and the recording of the shipped results both train through it."""

from contextlib import AbstractContextManager

from harness.contract import DEFAULT_FILENAME, LossFn
from sandbox.config import SandboxConfig
from sandbox.proxy import open_sandboxed_loss


def open_loss(source: str, filename: str | None) -> AbstractContextManager[LossFn]:
    return open_sandboxed_loss(source, SandboxConfig(), filename or DEFAULT_FILENAME)
