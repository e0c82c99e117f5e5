"""The API process never imports torch: validation runs the sandbox's check as a subprocess instead."""

import subprocess
import sys


def test_importing_the_whole_api_app_loads_no_torch():
    code = "import sys, api.main; sys.exit(1 if 'torch' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0
