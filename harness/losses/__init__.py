"""The loss files the project ships, each in exactly the submission format: four baselines, two published methods."""

from pathlib import Path

LOSS_DIR = Path(__file__).parent

# Published baselines, constants of the original harness's code (docs/published-results.md, "Baselines").
BASELINES = ("cross_entropy", "generalized_ce", "symmetric_ce", "bootstrap")
# The two best published methods, re-implemented from their published descriptions (docs/published-methods.md).
PUBLISHED_METHODS = ("inverse_flip_correction", "truncated_gce_ce")


def loss_path(name: str) -> Path:
    path = LOSS_DIR / f"{name}.py"
    if name.startswith("_") or not path.is_file():
        known = ", ".join(sorted(p.stem for p in LOSS_DIR.glob("[!_]*.py")))
        raise LookupError(f"no shipped loss {name!r}; known: {known}")
    return path
