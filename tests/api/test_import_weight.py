"""The API process never loads torch, the worker or the sandbox: checked at run time, in a fresh interpreter.

lint-imports (pyproject.toml) checks the import statements; this catches what statements cannot show, such as a
dependency that imports torch itself.
"""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

CODE = "import json, sys, api.main; api.main.create_app; print(json.dumps(sorted(sys.modules)))"


@pytest.fixture(scope="module")
def loaded_modules() -> set[str]:
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120, check=True)
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("module", ["torch", "torchvision", "worker", "sandbox", "harness.trainer"])
def test_importing_the_api_app_loads_no_trainer_side_module(loaded_modules, module):
    assert module not in loaded_modules
