"""`poisonbench check LOSS.py` (or `-` for stdin): the service's verdict on a loss file, before uploading it."""

import argparse
import sys
from pathlib import Path

from cli import CommandError
from sandbox.config import SandboxMode

# Exit statuses, as the README's command reference lists them.
ACCEPTED = 0
INTERNAL_ERROR = 1  # the sandbox could not start: the machine's fault, not the file's
REJECTED = 2  # the same status as any other bad input (cli.CommandError)


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "check", help="validate a RobustLoss file in the sandbox as the service does: shape, then a dry run"
    )
    parser.add_argument(
        "loss_file", metavar="LOSS.py", help="a file defining class RobustLoss, or - to read it from stdin"
    )
    parser.add_argument(
        "--sandbox",
        default=SandboxMode.REQUIRED.value,
        choices=[mode.value for mode in SandboxMode],
        help="run the dry run in the OS sandbox (default) or, for your own file only, unconfined",
    )
    parser.set_defaults(handler=check_loss_file)


def check_loss_file(args: argparse.Namespace) -> int:
    """`ok: FILE (sha256 ...)`, the sha256 the service would store (exit 0), or the file's one error (exit 2).

    The same check as an upload's (sandbox.check), so the verdict is the API's; the API refuses an empty file
    or one with a NUL byte before checking it, with its own words, and this check refuses them too.
    """
    from sandbox import SandboxUnavailableError
    from sandbox.check import FROM_STDIN, check_file_or_stdin
    from sandbox.config import SandboxConfig

    if args.loss_file != FROM_STDIN and not Path(args.loss_file).is_file():
        raise CommandError(f"{args.loss_file}: no such file")
    mode = SandboxMode(args.sandbox)
    if mode is SandboxMode.OFF:
        print(f"warning: --sandbox off runs {args.loss_file} unconfined, with your rights", file=sys.stderr)
    try:
        result = check_file_or_stdin(args.loss_file, SandboxConfig(mode=mode))
    except SandboxUnavailableError as error:
        print(f"poisonbench check: {error} (for your own file you may pass --sandbox off)", file=sys.stderr)
        return INTERNAL_ERROR
    if not result.ok:
        print(result.error)
        return REJECTED
    print(f"ok: {args.loss_file} (sha256 {result.sha256})")
    return ACCEPTED
