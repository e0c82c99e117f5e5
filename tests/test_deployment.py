"""Dockerfile.gpu copies every package pyproject.toml installs: an image without one of the rooms cannot start, and
no image is built on the machines the tests run on."""

import re
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
