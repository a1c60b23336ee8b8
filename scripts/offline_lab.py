"""A JupyterLab that asks nothing of the network: install the project's Lab settings.

    python -m scripts.offline_lab [--prefix PREFIX]

Copies two files into the Python environment ``PREFIX`` (by default this one, ``sys.prefix``),
where every ``jupyter lab`` started from it reads them (``make env`` runs this for .venv; a
conda environment built from environment.yml needs it run once):

- ``scripts/jupyter/lab/overrides.json`` to ``share/jupyter/lab/settings/``: the defaults of
  Lab's notification settings, so no "get notified about Jupyter news?" prompt and no update
  check;
- ``scripts/jupyter/lab/jupyter_lab_config.json`` to ``etc/jupyter/``: the server side, no
  news feed fetched (``LabApp.news_url = None``), no update check, and an extension manager
  that never searches PyPI (``readonly``). (Lab reads its own traits from this file, not from
  ``jupyter_server_config.d``.)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aelib.paths import atomic_write

SETTINGS = Path(__file__).resolve().parent / "jupyter" / "lab"
#: Each file of SETTINGS and where it goes under the environment's prefix.
TARGETS = {
    "overrides.json": Path("share/jupyter/lab/settings/overrides.json"),
    "jupyter_lab_config.json": Path("etc/jupyter/jupyter_lab_config.json"),
}


def installed(prefix: Path = Path(sys.prefix)) -> dict[Path, bool]:
    """Each target file under ``prefix`` and whether it holds the project's settings."""
    return {Path(prefix) / target: (Path(prefix) / target).is_file()
            and (Path(prefix) / target).read_bytes() == (SETTINGS / name).read_bytes()
            for name, target in TARGETS.items()}


def install(prefix: Path = Path(sys.prefix)) -> list[Path]:
    """Copy the settings into the environment at ``prefix``; return the files written."""
    prefix = Path(prefix)
    if not (prefix / "bin").is_dir() and not (prefix / "Scripts").is_dir():
        raise ValueError(f"prefix must be a Python environment (with bin/), got {prefix}")
    written = []
    for name, target in TARGETS.items():
        with atomic_write(prefix / target) as handle:
            handle.write((SETTINGS / name).read_bytes())
        (prefix / target).chmod(0o644)
        written.append(prefix / target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", type=Path, default=Path(sys.prefix),
                        help="the environment (default: %(default)s)")
    args = parser.parse_args(argv)
    for path in install(args.prefix):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
