"""`poisonbench check LOSS.py`: validate a loss file exactly as the service does before queueing it."""

import argparse
import sys
from pathlib import Path

from cli import CommandError
from sandbox.config import SandboxMode


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "check", help="validate a RobustLoss file in the sandbox: shape, then a dry run on random logits"
    )
    parser.add_argument("loss_file", type=Path, metavar="LOSS.py", help="a file defining class RobustLoss")
    parser.add_argument(
        "--sandbox",
        default=SandboxMode.REQUIRED.value,
        choices=[mode.value for mode in SandboxMode],
        help="run the dry run in the OS sandbox (default) or, for your own file only, unconfined",
    )
    parser.set_defaults(handler=check_loss_file)


def check_loss_file(args: argparse.Namespace) -> int:
    """Prints `ok: ...` (exit 0) or the file's one error (exit 1)."""
    from sandbox import SandboxUnavailableError
    from sandbox.check import check_submission
    from sandbox.config import SandboxConfig

    if not args.loss_file.is_file():
        raise CommandError(f"{args.loss_file}: no such file")
    mode = SandboxMode(args.sandbox)
    if mode is SandboxMode.OFF:
        print(f"warning: --sandbox off runs {args.loss_file} unconfined, with your rights", file=sys.stderr)
    try:
        result = check_submission(args.loss_file.read_bytes(), SandboxConfig(mode=mode), str(args.loss_file))
    except SandboxUnavailableError as error:
        raise CommandError(f"{error} (for your own file you may pass --sandbox off)") from None
    if not result.ok:
        print(result.error)
        return 1
    print(f"ok: {args.loss_file} (sha256 {result.sha256})")
    return 0
