"""Remove outputs from the notebooks before they are committed: ``make strip``."""

from __future__ import annotations

import sys

import nbformat
from notebook_runner import notebooks, strip_outputs


def main() -> int:
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        if strip_outputs(nb):
            nbformat.write(nb, path)
            print(f"stripped {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
