"""The workers' scratch space full: their temp directory and data root on a tiny filesystem filled to the brim.

A run keeps nothing on the host's disk: the loss process's only writable place is a private, sized tmpfs that
bubblewrap creates in memory (sandbox/launch.py), and the data root holds only the embedded database and broker,
unused with PostgreSQL and Redis. So a full disk under the workers must neither fail a run nor stop the reaper.
"""

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture
def full_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs mounted for the test and filled until writing fails."""
    mount_point = tmp_path / "full"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)], check=True)
    (mount_point / "var").mkdir()
    with pytest.raises(OSError, match="No space left"), open(mount_point / "filler", "wb") as filler:
        while True:
            filler.write(b"\0" * 65536)
            filler.flush()
    yield mount_point
    subprocess.run(["umount", "--lazy", str(mount_point)], check=True)


def test_workers_whose_scratch_space_is_full_still_train_every_run_once_and_keep_reaping(
    upload,
    service_environment,
    service_processes,
    full_filesystem,
    tmp_path,
    final_runs,
    slow_loss_file,
    succeeded_once,
):
    environment = {
        **service_environment,
        "TMPDIR": str(full_filesystem),
        "POISONBENCH_DATA_ROOT": str(full_filesystem / "var"),
    }
    maintenance_log = tmp_path / "maintenance.log"
    workers = (
        service_processes.start("-m", "cli.main", "worker", env=environment),
        service_processes.start("-m", "cli.main", "worker", "--maintenance", env=environment, log=maintenance_log),
    )
    accepted = upload(slow_loss_file(0.01), "quick")
    assert accepted.status_code == 202, accepted.text
    status, runs = final_runs(accepted.json()["id"], 150, workers)
    succeeded_once(status, runs)
    assert all(run.attempts == 1 for run in runs)
    # The reaper still runs: before, beat's schedule file on the full data root killed the beat thread.
    assert re.search(r"Task poisonbench\.reap\[\S+\] succeeded", maintenance_log.read_text())
