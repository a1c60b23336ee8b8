"""The project's own files agree with each other."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib

import yaml
from conftest import ROOT

# conda-forge names where they differ from PyPI's
CONDA_NAMES = {"torch": "pytorch-cpu"}
#: System packages that conda installs and pip cannot: the font of the Korean figures.
CONDA_ONLY = {"font-ttf-noto-cjk"}


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
    conda -= CONDA_ONLY
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


# aelib's modules from the bottom up: each may import only modules before it in this list.
LAYERS = ["_checks", "paths", "runtime", "i18n",               # plumbing, translated text
          "download", "data", "likelihood", "dimensionality", "priors",  # data and the maths
          "exercises", "models", "manifold",                   # models above them
          "training", "evaluation", "zoo",                     # training and evaluation
          "plotting", "views", "widgets"]                      # figures and widgets on top
HEADLESS = LAYERS[:LAYERS.index("plotting")]


def _aelib_imports(path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "aelib":
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("aelib."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("aelib.")}
    return found


def test_aelib_imports_point_one_way():
    modules = sorted(p.stem for p in (ROOT / "aelib").glob("*.py") if p.stem != "__init__")
    assert sorted(LAYERS) == modules, "a module is missing from LAYERS (or LAYERS is stale)"
    for name in LAYERS:
        below = set(LAYERS[:LAYERS.index(name)])
        upward = _aelib_imports(ROOT / "aelib" / f"{name}.py") - below
        assert not upward, f"aelib.{name} imports {sorted(upward)}, which sit above it"


def test_the_core_runs_headless():
    code = ("import sys\n"
            f"for name in {HEADLESS!r}: __import__('aelib.' + name)\n"
            "print(sorted(m for m in ('matplotlib', 'ipywidgets', 'IPython', 'PIL')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    assert out.strip() == "[]", f"the core imports {out.strip()}"
