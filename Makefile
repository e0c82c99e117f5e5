# The two commands of the quick start: `make serve` and `make test`. Both set the machine up first. `make test-fast`
# is the edit loop's: the walls and every test but those marked slow (real processes, servers, browsers).
.PHONY: setup serve test test-fast lint

setup:
	scripts/setup

serve: setup
	.venv/bin/poisonbench serve

test: setup
	.venv/bin/ruff check .
	.venv/bin/lint-imports
	.venv/bin/pytest

test-fast: setup
	.venv/bin/ruff check .
	.venv/bin/lint-imports
	.venv/bin/pytest -m "not slow"

lint: setup
	.venv/bin/ruff check .
