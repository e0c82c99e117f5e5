"""`poisonbench benchmarks`: the registry as a table."""

import argparse

from harness.registry import Suite, benchmarks_in


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser("benchmarks", help="list the registered benchmarks of each suite")
    parser.add_argument("--suite", choices=[s.value for s in Suite], help="only this suite")
    parser.set_defaults(handler=list_benchmarks)


def list_benchmarks(args: argparse.Namespace) -> None:
    suites = [Suite(args.suite)] if args.suite else list(Suite)
    print(f"{'suite':9} {'benchmark':30} {'model':12} {'data':13} {'C':>3} {'poison':>6} {'epochs':>6} {'train':>6}")
    for suite in suites:
        for b in benchmarks_in(suite):
            print(
                f"{b.suite:9} {b.name:30} {b.architecture:12} {b.dataset:13} {b.num_classes:>3} "
                f"{b.poison_rate:>6.0%} {b.epochs:>6} {b.train_samples:>6}"
            )
