# The two commands of the quick start: `make serve` and `make test`. Both set the machine up first. `make test-fast`
# is the edit loop's: the walls and every test but those marked slow (real processes, servers, browsers).
.PHONY: setup serve test test-fast lint

setup:
	scripts/setup

# `make serve PORT=8080`: the port the API listens on, at 127.0.0.1
PORT ?= 8000

serve: setup
	.venv/bin/poisonbench serve --port $(PORT)

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
