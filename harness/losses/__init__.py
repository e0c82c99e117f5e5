"""The loss files the project ships, each in exactly the submission format: four baselines (and the reference)."""

from pathlib import Path

LOSS_DIR = Path(__file__).parent

# Published baselines, constants of the original harness's code (BENCHMARK.md, "Baselines").
BASELINES = ("cross_entropy", "generalized_ce", "symmetric_ce", "bootstrap")
# The project's own loss that participants must beat (docs/reference-loss.md).
REFERENCE = "reference"


def loss_path(name: str) -> Path:
    path = LOSS_DIR / f"{name}.py"
    if name.startswith("_") or not path.is_file():
        known = ", ".join(sorted(p.stem for p in LOSS_DIR.glob("[!_]*.py")))
        raise LookupError(f"no shipped loss {name!r}; known: {known}")
    return path
