"""Hostile: reads host files: secrets, root's home, a canary in the repository, through /proc/1/root too."""

from pathlib import Path

import harness

REPOSITORY = Path(harness.__file__).parents[1]  # the packages it may import give the repository's path away
PATHS = {
    "shadow": "/etc/shadow",
    "passwd": "/etc/passwd",
    "root_home": "/root/.bash_history",
    "canary": REPOSITORY / "tests" / "sandbox" / "canary.txt",
    "proc_root_canary": f"/proc/1/root{REPOSITORY}/tests/sandbox/canary.txt",
    "git_config": REPOSITORY / ".git" / "config",
}


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        outcomes = []
        for name, path in PATHS.items():
            try:
                outcomes.append(f"{name}=read {Path(path).read_text()[:80]!r}")
            except OSError as error:
                outcomes.append(f"{name}={type(error).__name__}")
        raise RuntimeError(" ".join(outcomes))
