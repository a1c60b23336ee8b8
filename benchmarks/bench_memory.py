"""Peak memory of each notebook's kernel, in full mode by default.

Each notebook named on the command line (a part of its file name, e.g. ``03``; none = all) is
executed top to bottom in a fresh kernel, as ``make run`` does, with a private and empty model
cache unless ``--cache`` is given (so models are trained, the most memory-hungry case). While
it runs, a thread samples the resident memory (RSS) of the kernel and of every process it
starts, five times a second, and sums them; the kernel's own exact peak (``VmHWM`` from /proc)
is read before it shuts down. The larger of the two is reported.

Run from the repository root:

    .venv/bin/python -m benchmarks.bench_memory            # every notebook, full mode
    .venv/bin/python -m benchmarks.bench_memory 03 05      # some of them
    .venv/bin/python -m benchmarks.bench_memory --fast     # fast mode, as the test suite runs

Exits with status 1 if a notebook fails or its peak reaches ``--limit-gb`` (default 2).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from scripts.notebook_runner import ROOT, NotebookFailed, execute, notebooks

NETGUARD_DIR = ROOT / "tests" / "netguard"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="only notebooks whose file name contains one")
    parser.add_argument("--fast", action="store_true", help="fast mode (AELIB_FAST=1)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="model cache to use (default: a fresh, empty one per notebook)")
    parser.add_argument("--limit-gb", type=float, default=2.0, help="fail at this peak")
    parser.add_argument("--cell-timeout", type=int, default=1800, help="seconds per cell")
    args = parser.parse_args(argv)

    selected = [p for p in notebooks() if not args.names or any(n in p.name for n in args.names)]
    if not selected:
        print(f"no notebook matches {args.names}", file=sys.stderr)
        return 2
    mode = "fast" if args.fast else "full"
    print(f"peak resident memory of each notebook's kernel process tree, {mode} mode, "
          f"{'cache ' + str(args.cache) if args.cache else 'fresh cache each'}")
    print(f"{'notebook':<40} {'peak MiB':>9} {'wall s':>8}")
    status = 0
    limit = args.limit_gb * 1024**3
    for path in selected:
        with tempfile.TemporaryDirectory(prefix="aelib-bench-memory-") as scratch:
            env = {
                "AELIB_FAST": "1" if args.fast else "0",
                "AELIB_CACHE_DIR": str(args.cache or Path(scratch) / "cache"),
                "MPLBACKEND": "module://matplotlib_inline.backend_inline",  # as in Jupyter
                # The same loopback-only socket guard as the tests: a benchmark stays offline.
                "PYTHONPATH": os.pathsep.join(filter(None, [str(NETGUARD_DIR),
                                                            os.environ.get("PYTHONPATH")])),
            }
            try:
                result = execute(path, env=env, cell_timeout=args.cell_timeout,
                                 measure_memory=True)
            except NotebookFailed as failure:
                print(f"{path.name:<40} FAILED: {failure}", flush=True)
                status = 1
                continue
        peak = result.peak_rss or 0
        flag = "  over the limit" if peak >= limit else ""
        print(f"{path.name:<40} {peak / 2**20:9.0f} {result.seconds:8.1f}{flag}", flush=True)
        if peak >= limit:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
