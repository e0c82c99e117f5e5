"""Turning a RobustLoss file into a LossFn, with one clear message for each way the file can be wrong.

Importing runs the file's code: call this in-process only for trusted files (the baselines, one's own loss with
the sandbox off) or inside the sandbox's loss process.
"""

import hashlib
import inspect
import types
from pathlib import Path

from harness.contract import (
    CLASS_NAME,
    DEFAULT_FILENAME,
    MAX_FILE_BYTES,
    METHOD_NAME,
    METHOD_PARAMETERS,
    SUBMISSION_TEMPLATE,
    LossContractError,
    LossFn,
)


def read_loss_source(path: Path) -> str:
    """The file's text, or a LossContractError saying why it cannot be a loss file."""
    if not path.is_file():
        raise LossContractError(f"{path}: no such file")
    raw = path.read_bytes()
    return decode_loss_source(raw, str(path))


def decode_loss_source(raw: bytes, filename: str) -> str:
    if len(raw) > MAX_FILE_BYTES:
        raise LossContractError(
            f"{filename}: {len(raw):,} bytes is over the {MAX_FILE_BYTES:,}-byte limit for a loss file"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise LossContractError(
            f"{filename}: not UTF-8 text (byte {error.start} is {raw[error.start]:#04x}); save the file as UTF-8"
        ) from None


def sha256_of(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def load_loss(source: str, filename: str = DEFAULT_FILENAME) -> LossFn:
    """Execute the source, check the RobustLoss class's shape, instantiate it and return its bound compute_loss."""
    try:
        code = compile(source, filename, "exec")
    except SyntaxError as error:
        raise LossContractError(f"{filename}, line {error.lineno}: syntax error: {error.msg}") from None
    module = types.ModuleType(Path(filename).stem)
    module.__file__ = filename
    try:
        exec(code, module.__dict__)
    except Exception as error:  # the file's own top-level code failed
        raise LossContractError(
            f"{filename}{_line_of(error, filename)}: importing the file raised {_describe(error)}"
        ) from None
    cls = module.__dict__.get(CLASS_NAME)
    if not isinstance(cls, type):
        raise LossContractError(
            f"{filename}: defines no class {CLASS_NAME}; the file must contain:\n{SUBMISSION_TEMPLATE}"
        )
    _check_method(cls, filename)
    try:
        instance = cls()
    except Exception as error:
        raise LossContractError(
            f"{filename}{_line_of(error, filename)}: {CLASS_NAME}() raised {_describe(error)}; "
            "the constructor must take no arguments"
        ) from None
    return _reporting_errors(getattr(instance, METHOD_NAME), filename)


def _reporting_errors(compute_loss: LossFn, filename: str) -> LossFn:
    """The loss, with any exception it raises turned into a LossContractError naming the line in the file."""

    def loss_fn(logits, labels, epoch):
        try:
            return compute_loss(logits, labels, epoch)
        except Exception as error:
            raise LossContractError(describe_call_error(error, filename)) from error

    return loss_fn


def _check_method(cls: type, filename: str) -> None:
    method = getattr(cls, METHOD_NAME, None)
    if not callable(method):
        raise LossContractError(
            f"{filename}: class {CLASS_NAME} has no method {METHOD_NAME}(self, logits, labels, epoch)"
        )
    try:
        signature = inspect.signature(method)
    except (TypeError, ValueError):
        return  # a builtin or C callable: the dry run decides
    try:
        signature.bind(None, *METHOD_PARAMETERS)
    except TypeError:
        line = f", line {method.__code__.co_firstlineno}" if hasattr(method, "__code__") else ""
        raise LossContractError(
            f"{filename}{line}: {CLASS_NAME}.{METHOD_NAME}{signature} cannot be called as "
            f"{METHOD_NAME}(self, {', '.join(METHOD_PARAMETERS)})"
        ) from None


def _line_of(error: BaseException, filename: str) -> str:
    """', line N' of the deepest frame inside the loss file, if any."""
    line = None
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == filename:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return f", line {line}" if line else ""


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def describe_call_error(error: BaseException, filename: str) -> str:
    """The message for an exception raised inside compute_loss, naming the line in the loss file."""
    return f"{filename}{_line_of(error, filename)}: {METHOD_NAME} raised {_describe(error)}"
