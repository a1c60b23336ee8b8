"""Execute every notebook into build/: executed notebooks, their HTML, slides and the index.

    python -m scripts.run_notebooks [--fast] [--jobs N] [--out build] [NAME_PART ...]
    python -m scripts.run_notebooks --lang ko [--fast] [NAME_PART ...]
    python -m scripts.run_notebooks --seeds 0 1 2 [NAME_PART ...]

Runs ``--jobs`` kernels side by side (2 by default, on a machine with at least two CPUs), in
teaching order, each told to use its share of the CPUs (AELIB_MAX_THREADS); a kernel that
needs a model another is training waits for it (``aelib.training.train_or_load``). Prints one
line per notebook with its wall time as it finishes, and writes that time into the executed
copy's "**Run time:**" line. A failing notebook stops the run with exit status 1 and a message
naming the notebook and the cell; its partly executed copy is kept as
``<out>/notebooks/<name>.failed.ipynb`` for a look.

``--lang ko`` runs the Korean edition (``scripts.translations.korean_notebook``: the same code,
the text from the catalogues) into ``<out>/ko/``, after checking that every catalogue is up to
date; trained models come from the same cache, so after an English run nothing is retrained.

``--seeds`` runs every notebook once per seed, with ``SEED`` injected after its ``parameters``
cell, into ``<out>/seeds/seed-<N>/`` (executed notebooks only): in full mode this proves that
every claim the text makes, each asserted in its cell, holds for those seeds.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import sys
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import nbformat

from scripts import build_site, lecturer, translations
from scripts.notebook_runner import ROOT, NotebookFailed, execute, notebooks

#: The paragraph of the first cell that starts "**Run time:**" (Korean: "**실행 시간:**"), up
#: to the next blank line.
RUN_TIME_PARAGRAPH = re.compile(r"^\*\*(?:Run time|실행 시간):\*\*.*?(?=\n[ \t]*\n|\Z)",
                                re.M | re.S)
LANGUAGES = ("en", translations.LANGUAGE)


def stamp_run_time(nb: nbformat.NotebookNode, seconds: float, fast: bool,
                   language: str = "en") -> None:
    """Replace the first cell's "**Run time:**" paragraph with the time this run measured."""
    if language == "en":
        mode = "fast mode (AELIB_FAST=1)" if fast else "full mode"
        line = (f"**Run time:** {seconds:.0f} s in {mode} on the machine that built this copy, "
                "kernel start included (measured by `make run`).")
    else:
        mode = "빠른 모드(AELIB_FAST=1)" if fast else "전체 모드"
        line = (f"**실행 시간:** 이 사본을 만든 컴퓨터에서 {mode}로 {seconds:.0f} s, 커널 시작 "
                "포함 (`make run LANG=ko`가 측정).")
    first = nb.cells[0]
    first.source = RUN_TIME_PARAGRAPH.sub(lambda _: line, first.source, count=1)


def default_jobs() -> int:
    """Kernels side by side: two where there are at least two CPUs."""
    return 2 if (os.cpu_count() or 1) >= 2 else 1


def _execute(path: Path, env: dict[str, str], parameters: dict[str, Any] | None,
             language: str = "en") -> tuple[Path, Any, str | None]:
    """(path, executed notebook or partial one, None or the failure): a worker's job."""
    try:
        notebook = None if language == "en" else translations.korean_notebook(path)
        notes = None
        if lecturer.pack_path(path).exists():   # every notebook of the collection has one
            pack = lecturer.load(path) if language == "en" else translations.korean_pack(path)
            notes = lecturer.note_templates(pack, language)
        result = execute(path, env=env, parameters=parameters, notebook=notebook, notes=notes)
    except NotebookFailed as failure:
        return path, failure.notebook, str(failure)
    return path, result, None


def run_all(jobs: list[tuple[Path, dict[str, Any] | None]], env: dict[str, str],
            workers: int, language: str = "en"
            ) -> Iterator[tuple[Path, dict[str, Any] | None, Any, str | None]]:
    """Execute ``jobs`` (path, parameters) on ``workers`` kernels side by side, in order, in
    ``language``'s edition;
    yield (path, parameters, Result or partial notebook, failure or None) as each finishes.
    A job is handed out only when a worker is free, so none starts after the caller stops
    (at a failure); those already running finish first."""
    cpus = os.cpu_count() or 1
    env = {**env, "AELIB_MAX_THREADS": str(max(1, cpus // workers))}
    waiting = iter(jobs)
    # Spawned, not forked: a fork of a process with threads (a test runner's, say) can inherit
    # a lock some thread held, and hang.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=spawn) as pool:
        running = {}

        def hand_out() -> None:
            job = next(waiting, None)
            if job is not None:
                running[pool.submit(_execute, job[0], env, job[1], language)] = job[1]

        for _ in range(workers):
            hand_out()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in [f for f in running if f in done]:   # in the order handed out
                parameters = running.pop(future)
                path, outcome, failure = future.result()
                yield path, parameters, outcome, failure
                hand_out()


def run_seeds(selected: list[Path], seeds: list[int], env: dict[str, str], out: Path,
              workers: int) -> int:
    """Execute every notebook once per seed; exit status 1 after the first failure."""
    total = time.perf_counter()
    jobs = [(path, {"SEED": seed}) for seed in seeds for path in selected]
    for path, parameters, outcome, failure in run_all(jobs, env, workers):
        folder = out / "seeds" / f"seed-{parameters['SEED']}"
        if failure is not None:
            kept = folder / f"{path.stem}.failed.ipynb"
            build_site.write_text(kept, nbformat.writes(outcome))
            print(f"FAILED {path.name} with SEED = {parameters['SEED']}: {failure}\n  partial "
                  f"run kept in {kept}", file=sys.stderr)
            return 1
        build_site.write_text(folder / path.name, nbformat.writes(outcome.notebook))
        print(f"SEED = {parameters['SEED']}  {path.name:<40} {outcome.seconds:7.1f} s",
              flush=True)
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
    parser.add_argument("--jobs", type=int, default=default_jobs(),
                        help="kernels side by side (default: %(default)s)")
    parser.add_argument("--lang", choices=LANGUAGES, default="en",
                        help="the edition: en (into OUT) or ko (into OUT/ko)")
    args = parser.parse_args(argv)

    selected = [p for p in notebooks() if not args.names or any(n in p.name for n in args.names)]
    if not selected:
        print(f"no notebook matches {args.names}", file=sys.stderr)
        return 2
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    env = {"AELIB_FAST": "1" if args.fast else "0"}
    if args.seeds:
        if args.lang != "en":
            parser.error("--seeds checks the claims once, in English; leave out --lang")
        return run_seeds(selected, args.seeds, env, args.out, args.jobs)
    site, out = args.out, args.out if args.lang == "en" else args.out / args.lang
    if args.lang != "en":
        stale = translations.status([*(p.name for p in selected), translations.LIBRARY_DOMAIN])
        if stale:
            print(f"the {args.lang} catalogues are not up to date (python -m "
                  "scripts.translations status):\n  " + "\n  ".join(stale), file=sys.stderr)
            return 1
    # Static HTML cannot run widgets: the exporter shows each widget's fallback figure
    # (build_site.STATIC_DISPLAY_PRIORITY) and loads MathJax and the rest from build/assets.
    exporter = build_site.html_exporter(language=args.lang)
    timings_file = out / "timings.json"
    timings = json.loads(timings_file.read_text()) if timings_file.exists() else {}
    total = time.perf_counter()
    for path, _, result, failure in run_all([(path, None) for path in selected], env, args.jobs,
                                                      args.lang):
        if failure is not None:
            kept = out / "notebooks" / f"{path.stem}.failed.ipynb"
            build_site.write_text(kept, nbformat.writes(result))
            print(f"FAILED {path.relative_to(ROOT)}: {failure}\n  partial run kept in {kept}",
                  file=sys.stderr)
            return 1
        (out / "notebooks" / f"{path.stem}.failed.ipynb").unlink(missing_ok=True)   # fixed now
        stamp_run_time(result.notebook, result.seconds, args.fast, args.lang)
        build_site.write_text(out / "notebooks" / path.name, nbformat.writes(result.notebook))
        html, _ = exporter.from_notebook_node(result.notebook)
        build_site.write_text(out / "html" / f"{path.stem}.html", html)
        timings[path.name] = round(result.seconds, 1)
        build_site.write_text(timings_file, json.dumps(timings, indent=1, sort_keys=True) + "\n")
        print(f"{path.name:<40} {result.seconds:7.1f} s", flush=True)
    print(f"{len(selected)} notebooks in {time.perf_counter() - total:.0f} s: executed copies "
          f"in {out / 'notebooks'}, HTML in {out / 'html'}")
    # The HTML is written above; the decks, plans, handouts and index from the executed copies.
    build_site.build(out, names=args.names, slides_only=True, language=args.lang)
    if args.lang != "en" and (site / "index.html").exists():
        build_site.write_index(site)   # the English index now links to this edition
    print(f"slides in {out / 'slides'}, index page {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
