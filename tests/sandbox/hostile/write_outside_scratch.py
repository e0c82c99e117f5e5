"""Hostile: writes next to the packages, into the interpreter, at the root, and into its scratch /tmp."""

from pathlib import Path

import harness

REPOSITORY = Path(harness.__file__).parents[1]
TARGETS = {
    "repository": REPOSITORY / "PWNED-by-hostile-loss",
    "package": Path(harness.__file__).parent / "PWNED-by-hostile-loss",
    "root": Path("/PWNED-by-hostile-loss"),
    "shm": Path("/dev/shm/PWNED-by-hostile-loss"),
    "scratch": Path("/tmp/PWNED-by-hostile-loss"),
}


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        outcomes = []
        for name, path in TARGETS.items():
            try:
                path.write_text("pwned")
                outcomes.append(f"{name}=written")
            except OSError as error:
                outcomes.append(f"{name}={type(error).__name__}")
        raise RuntimeError(" ".join(outcomes))
