"""`poisonbench data download`: fetch the official datasets where a network exists."""

import argparse
from pathlib import Path

from cli import CommandError


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser("data", help="manage the benchmark datasets")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    download = actions.add_parser("download", help="download datasets through torchvision (needs a network)")
    download.add_argument(
        "datasets",
        nargs="*",
        metavar="DATASET",
        help="cifar10, cifar100 or fashionmnist (default: all; digits and synthetic need no download)",
    )
    download.add_argument("--data-root", type=Path, default=Path("data"), help="dataset folder (default ./data)")
    download.set_defaults(handler=download_datasets)


def download_datasets(args: argparse.Namespace) -> None:
    from harness.datasets import download_dataset

    for name in args.datasets or ["cifar10", "cifar100", "fashionmnist"]:
        print(f"{name}: downloading into {args.data_root}")
        try:
            download_dataset(name, args.data_root)
        except ValueError as error:
            raise CommandError(str(error)) from None
        except OSError as error:  # no network, a refused connection, a full disk
            raise CommandError(f"{name}: download failed ({error}); check the network and the data root") from None
