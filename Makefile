# The two commands of the quick start: `make serve` and `make test`. Both set the machine up first.
.PHONY: setup serve test lint

setup:
	scripts/setup

serve: setup
	.venv/bin/poisonbench serve

test: setup
	.venv/bin/ruff check .
	.venv/bin/lint-imports
	.venv/bin/pytest

lint: setup
	.venv/bin/ruff check .
