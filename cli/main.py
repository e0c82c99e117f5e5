"""The `poisonbench` command: one subcommand module per concern, composed here."""

import argparse
import os
import signal
import sys

from cli import CommandError, benchmarks_command, check_command, data_command, run_command, service_commands

SUBCOMMAND_MODULES = (run_command, check_command, benchmarks_command, data_command, service_commands)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="poisonbench", description="Poison-robust learning benchmark under label-flip poisoning."
    )
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMAND_MODULES:
        module.register(subcommands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status = args.handler(args) or 0
        sys.stdout.flush()  # here, where a reader that has gone is caught, rather than at the interpreter's exit
        return status
    except BrokenPipeError:
        # The reader stopped early (`| head`): what it wanted was printed. The rest of the output goes nowhere, so
        # the flush at exit fails no more; the status is a shell's for a process ended by SIGPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except CommandError as error:
        print(f"poisonbench {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
