"""The commands that do not train load no torch: `poisonbench admin ...` starts in about a second, not the 15-25 s
torch, torchvision and scikit-learn took to import on a busy 2-core machine. Checked in a fresh interpreter, as
tests/api/test_import_weight.py checks the API's."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPOSITORY = Path(__file__).parents[2]
HEAVY = ["torch", "torchvision", "sklearn", "scipy", "celery", "fastapi", "uvicorn", "alembic"]
# Runs the command as `poisonbench` does, then writes the modules it loaded to the file named by its first argument.
CODE = """
import json, sys
from cli.main import main
try:
    main(sys.argv[2:])
except SystemExit:  # --help
    pass
with open(sys.argv[1], "w") as out:
    json.dump(sorted(sys.modules), out)
"""


@pytest.fixture(scope="module")
def embedded(tmp_path_factory) -> tuple[dict[str, str], Path]:
    """The environment of a shell with no settings, and a folder holding an empty embedded database."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("POISONBENCH_")}
    environment["PYTHONPATH"] = str(REPOSITORY)
    folder = tmp_path_factory.mktemp("shell")
    upgrade = [sys.executable, "-m", "cli.main", "admin", "db", "upgrade"]
    subprocess.run(upgrade, env=environment, cwd=folder, capture_output=True, timeout=300, check=True)
    return environment, folder


@pytest.mark.parametrize(
    "command",
    [
        ["admin", "--help"],
        ["admin", "submissions", "list"],
        ["admin", "submissions", "show", "1"],
        ["admin", "submissions", "hide", "1"],
        ["admin", "participant", "list"],
        ["benchmarks"],
    ],
    ids=" ".join,
)
def test_a_command_that_does_not_train_loads_no_heavy_library(embedded, tmp_path, command):
    environment, folder = embedded
    loaded = tmp_path / "modules.json"
    run = [sys.executable, "-c", CODE, str(loaded), *command]
    subprocess.run(run, env=environment, cwd=folder, capture_output=True, timeout=300, check=True)
    modules = set(json.loads(loaded.read_text()))
    assert [name for name in HEAVY if name in modules] == []
