"""Execute every notebook into build/: executed notebooks, their HTML, slides and the index.

    python -m scripts.run_notebooks [--fast] [--out build] [NAME_PART ...]
    python -m scripts.run_notebooks --seeds 0 1 2 [NAME_PART ...]

Prints one line per notebook with its wall time, and writes that time into the executed
copy's "**Run time:**" line. A failing notebook stops the run with exit status 1 and a message
naming the notebook and the cell; its partly executed copy is kept as
``<out>/notebooks/<name>.failed.ipynb`` for a look.

``--seeds`` runs every notebook once per seed, with ``SEED`` injected after its ``parameters``
cell, into ``<out>/seeds/seed-<N>/`` (executed notebooks only): in full mode this proves that
every claim the text makes, each asserted in its cell, holds for those seeds.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import nbformat

from scripts import build_site
from scripts.notebook_runner import ROOT, NotebookFailed, execute, notebooks

#: The paragraph of the first cell that starts "**Run time:**", up to the next blank line.
RUN_TIME_PARAGRAPH = re.compile(r"^\*\*Run time:\*\*.*?(?=\n[ \t]*\n|\Z)", re.M | re.S)


def stamp_run_time(nb: nbformat.NotebookNode, seconds: float, fast: bool) -> None:
    """Replace the first cell's "**Run time:**" paragraph with the time this run measured."""
    mode = "fast mode (AELIB_FAST=1)" if fast else "full mode"
    line = (f"**Run time:** {seconds:.0f} s in {mode} on the machine that built this copy, "
            "kernel start included (measured by `make run`).")
    first = nb.cells[0]
    first.source = RUN_TIME_PARAGRAPH.sub(lambda _: line, first.source, count=1)


def run_seeds(selected: list[Path], seeds: list[int], env: dict[str, str], out: Path) -> int:
    """Execute every notebook once per seed; exit status 1 at the first failure."""
    total = time.perf_counter()
    for seed in seeds:
        folder = out / "seeds" / f"seed-{seed}"
        for path in selected:
            try:
                result = execute(path, env=env, parameters={"SEED": seed})
            except NotebookFailed as failure:
                kept = folder / f"{path.stem}.failed.ipynb"
                build_site.write_text(kept, nbformat.writes(failure.notebook))
                print(f"FAILED {path.name} with SEED = {seed}: {failure}\n  partial run kept "
                      f"in {kept}", file=sys.stderr)
                return 1
            build_site.write_text(folder / path.name, nbformat.writes(result.notebook))
            print(f"SEED = {seed}  {path.name:<40} {result.seconds:7.1f} s", flush=True)
    print(f"{len(selected)} notebooks x {len(seeds)} seeds passed in "
          f"{time.perf_counter() - total:.0f} s: executed copies in {out / 'seeds'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="run only notebooks whose name contains one")
    parser.add_argument("--fast", action="store_true", help="fast mode (AELIB_FAST=1)")
    parser.add_argument("--out", type=Path, default=ROOT / "build", help="output folder")
    parser.add_argument("--seeds", type=int, nargs="+", metavar="SEED",
                        help="run every notebook once per seed (no HTML, slides or index)")
    args = parser.parse_args(argv)

    selected = [p for p in notebooks() if not args.names or any(n in p.name for n in args.names)]
    if not selected:
        print(f"no notebook matches {args.names}", file=sys.stderr)
        return 2
    env = {"AELIB_FAST": "1" if args.fast else "0"}
    if args.seeds:
        return run_seeds(selected, args.seeds, env, args.out)
    # Static HTML cannot run widgets: the exporter shows each widget's fallback figure
    # (build_site.STATIC_DISPLAY_PRIORITY) and loads MathJax and the rest from build/assets.
    exporter = build_site.html_exporter()
    timings_file = args.out / "timings.json"
    timings = json.loads(timings_file.read_text()) if timings_file.exists() else {}
    total = time.perf_counter()
    for path in selected:
        try:
            result = execute(path, env=env)
        except NotebookFailed as failure:
            kept = args.out / "notebooks" / f"{path.stem}.failed.ipynb"
            build_site.write_text(kept, nbformat.writes(failure.notebook))
            print(f"FAILED {path.relative_to(ROOT)}: {failure}\n  partial run kept in {kept}",
                  file=sys.stderr)
            return 1
        stamp_run_time(result.notebook, result.seconds, args.fast)
        build_site.write_text(args.out / "notebooks" / path.name, nbformat.writes(result.notebook))
        html, _ = exporter.from_notebook_node(result.notebook)
        build_site.write_text(args.out / "html" / f"{path.stem}.html", html)
        timings[path.name] = round(result.seconds, 1)
        build_site.write_text(timings_file, json.dumps(timings, indent=1, sort_keys=True) + "\n")
        print(f"{path.name:<40} {result.seconds:7.1f} s", flush=True)
    print(f"{len(selected)} notebooks in {time.perf_counter() - total:.0f} s: executed copies "
          f"in {args.out / 'notebooks'}, HTML in {args.out / 'html'}")
    build_site.build(args.out, names=args.names, slides_only=True)
    print(f"slides in {args.out / 'slides'}, index page {args.out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
