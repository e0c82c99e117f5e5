"""The deployment files follow the rooms: Dockerfile.gpu copies every package pyproject.toml installs (an image
without one of them cannot start), and docker-compose.yml is a valid file; no image is built on the machines the
tests run on, so nothing else would tell."""

import os
import re
import subprocess
import tomllib
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent


def installed_packages() -> set[str]:
    """The top-level packages of pyproject.toml's `packages.find` patterns, e.g. "db*" -> "db"."""
    project = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())
    return {pattern.rstrip("*") for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]}


def packages_left_out(dockerfile: str, packages: set[str]) -> list[str]:
    """The packages the image lacks: each must be made before the dependencies' install (`mkdir -p ...`) and
    copied in (`COPY name name`)."""
    made = set(re.search(r"mkdir -p ([\w ]+)", dockerfile).group(1).split())
    copies = re.findall(r"^COPY (\w+) (\w+)$", dockerfile, re.MULTILINE)
    copied = {source for source, target in copies if source == target}
    return sorted(package for package in packages if package not in made or package not in copied)


def test_the_image_holds_every_package_the_project_installs():
    assert packages_left_out((REPOSITORY / "Dockerfile.gpu").read_text(), installed_packages()) == []


def test_a_package_left_out_of_the_image_is_named():
    dockerfile = (REPOSITORY / "Dockerfile.gpu").read_text()
    assert packages_left_out(dockerfile.replace("COPY scoring scoring\n", ""), installed_packages()) == ["scoring"]
    assert packages_left_out(dockerfile.replace(" scoring ", " "), installed_packages()) == ["scoring"]


def test_docker_compose_yml_is_valid_with_its_required_variables_set():
    # Debian's docker-compose (scripts/setup installs it) checks the file without a Docker daemon.
    required = {"POISONBENCH_MASTER_SEED": "1", "POSTGRES_PASSWORD": "password"}
    checked = subprocess.run(
        ["docker-compose", "--file", "docker-compose.yml", "config", "--quiet"],
        cwd=REPOSITORY,
        env={**os.environ, **required},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stderr


def test_make_serve_passes_the_port_it_is_given():
    dry_run = subprocess.run(
        ["make", "--dry-run", "serve", "PORT=8123"], cwd=REPOSITORY, capture_output=True, text=True, check=True
    )
    assert ".venv/bin/poisonbench serve --port 8123" in dry_run.stdout.splitlines()
