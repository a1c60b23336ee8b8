"""Execute every notebook into build/: executed notebooks, their HTML, slides and the index.

    python scripts/run_notebooks.py [--fast] [--out build] [NAME_PART ...]

Prints one line per notebook with its wall time. A failing notebook stops the run with exit
status 1 and a message naming the notebook and the cell; its partly executed copy is kept as
``build/notebooks/<name>.failed.ipynb`` for a look.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import build_site
import nbformat
from notebook_runner import ROOT, NotebookFailed, execute, notebooks


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="run only notebooks whose name contains one")
    parser.add_argument("--fast", action="store_true", help="fast mode (AELIB_FAST=1)")
    parser.add_argument("--out", type=Path, default=ROOT / "build", help="output folder")
    args = parser.parse_args(argv)

    selected = [p for p in notebooks() if not args.names or any(n in p.name for n in args.names)]
    if not selected:
        print(f"no notebook matches {args.names}", file=sys.stderr)
        return 2
    env = {"AELIB_FAST": "1" if args.fast else "0"}
    # Static HTML cannot run widgets: the exporter shows each widget's fallback figure
    # (aelib.widgets.STATIC_DISPLAY_PRIORITY) and loads MathJax and the rest from build/assets.
    exporter = build_site.html_exporter()
    timings_file = args.out / "timings.json"
    timings = json.loads(timings_file.read_text()) if timings_file.exists() else {}
    total = time.perf_counter()
    for path in selected:
        try:
            result = execute(path, env=env)
        except NotebookFailed as failure:
            kept = args.out / "notebooks" / f"{path.stem}.failed.ipynb"
            write_atomic(kept, nbformat.writes(failure.notebook))
            print(f"FAILED {path.relative_to(ROOT)}: {failure}\n  partial run kept in {kept}",
                  file=sys.stderr)
            return 1
        write_atomic(args.out / "notebooks" / path.name, nbformat.writes(result.notebook))
        html, _ = exporter.from_notebook_node(result.notebook)
        write_atomic(args.out / "html" / f"{path.stem}.html", html)
        timings[path.name] = round(result.seconds, 1)
        write_atomic(timings_file, json.dumps(timings, indent=1, sort_keys=True) + "\n")
        print(f"{path.name:<40} {result.seconds:7.1f} s", flush=True)
    print(f"{len(selected)} notebooks in {time.perf_counter() - total:.0f} s: executed copies "
          f"in {args.out / 'notebooks'}, HTML in {args.out / 'html'}")
    build_site.build(args.out, names=args.names, slides_only=True)
    print(f"slides in {args.out / 'slides'}, index page {args.out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
