"""What the loss process may use and for how long, explicitly; sandbox/ never reads the environment."""

import sys
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import harness

GiB = 2**30
MiB = 2**20


class SandboxMode(StrEnum):
    REQUIRED = "required"  # the loss runs confined, or not at all: the only mode of the service
    OFF = "off"  # the loss runs in a plain child process with the caller's rights: for one's own file only


def default_read_only_paths() -> tuple[Path, ...]:
    """The system's libraries, this interpreter, its packages, and the two of ours the loss process imports.

    Of the repository only harness/ and sandbox/: the rest holds the data root, the settings and the database.
    """
    top_level = (Path("/", name) for name in ("bin", "lib", "lib32", "lib64", "libx32", "sbin"))
    candidates = [
        Path("/usr"),
        *(path for path in top_level if path.is_dir() and not path.is_symlink()),  # no merged /usr
        Path(sys.base_prefix),
        Path(sys.prefix),
        Path(harness.__file__).parent,
        Path(__file__).parent,
    ]
    unique = sorted({path.absolute() for path in candidates})
    nested = {path for path in unique for other in unique if other != path and path.is_relative_to(other)}
    return tuple(path for path in unique if path not in nested)


@dataclass(frozen=True)
class SandboxConfig:
    """One loss process's confinement and limits. The defaults are the service's."""

    mode: SandboxMode = SandboxMode.REQUIRED
    user: str = "poisonbench-sandbox"  # a root caller drops to this user first (scripts/setup creates it)
    # A minibatch's loss takes about a millisecond (docs/performance.md): margins for a loaded machine.
    call_timeout: float = 10.0  # seconds for one compute_loss with its backward, or for importing the file
    run_timeout: float = 1800.0  # seconds of all compute_loss calls of one run together
    startup_timeout: float = 60.0  # seconds to start Python and torch in the sandbox (about 4 s measured)
    cpu_seconds: int = 3600  # RLIMIT_CPU of the whole loss process, threads included
    # Importing torch alone reserves 3.2 GB of address space (VmPeak, torch 2.14.1+cu130).
    address_space_bytes: int = 6 * GiB  # RLIMIT_AS
    open_files: int = 64  # RLIMIT_NOFILE
    output_bytes: int = 1 * MiB  # RLIMIT_FSIZE: of stdout and stderr together, and of each scratch file
    scratch_bytes: int = 64 * MiB  # size of the tmpfs /tmp, the only writable place
    python: Path = field(default_factory=lambda: Path(sys.executable))
    read_only_paths: tuple[Path, ...] = field(default_factory=default_read_only_paths)
    bwrap: Path = Path("/usr/bin/bwrap")
