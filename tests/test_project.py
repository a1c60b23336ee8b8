"""The project's own files agree with each other."""

from __future__ import annotations

import re
import tomllib

import yaml
from conftest import ROOT

# conda-forge names where they differ from PyPI's
CONDA_NAMES = {"torch": "pytorch-cpu"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip().lower()


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pypi = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        pypi += extra
    expected = {CONDA_NAMES.get(_name(r), _name(r)) for r in pypi}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)} - {"python", "pip"}
    assert env["channels"] == ["conda-forge"]
    assert conda == expected, (f"only in environment.yml: {sorted(conda - expected)}; "
                               f"only in pyproject.toml: {sorted(expected - conda)}")


def test_constraints_pin_every_dependency_and_the_cpu_torch():
    pins = {}
    for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    assert pins.get("torch") == "2.13.0", "torch must stay pinned to the 2.13.0 CPU build"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted += extra
    unpinned = sorted({_name(r) for r in wanted} - set(pins))
    assert not unpinned, f"constraints.txt lacks pins for {unpinned}"


def test_build_output_is_ignored_by_git():
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "build/" in ignored and ".venv/" in ignored
