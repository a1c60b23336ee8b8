"""How much of aelib a learner has to read, and how much of it is argument checking.

    python benchmarks/library_size.py                 # this checkout
    python benchmarks/library_size.py --before DIR    # side by side with another checkout

Lines are physical lines (``wc -l``). A line counts as argument checking when it lies in
``aelib/_checks.py``, in a function named ``check_*`` or ``_check*``, in a ``@validate(...)``
decorator, in a statement that calls ``check_*``, ``_check*``, ``validate_fields`` or anything
the module imports from ``aelib._checks`` (a check declared as a constant, or called in a
function body), or in an ``if`` whose body ends by raising ``TypeError`` or ``ValueError`` (a
guard). The same rule is applied to both checkouts. Also reported: the longest function, the
length of the latent explorer's class, and how far into the ``VAE`` class its ``loss`` starts.
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECK_PREFIXES = ("check_", "_check")
EXPLORER_CLASSES = ("LatentExplorer",)


@dataclass
class Size:
    lines: dict[str, int] = field(default_factory=dict)
    checking: dict[str, int] = field(default_factory=dict)
    longest: tuple[int, str] = (0, "")
    explorer: int = 0
    vae_loss_offset: int = 0

    @property
    def total(self) -> int:
        return sum(self.lines.values())

    @property
    def total_checking(self) -> int:
        return sum(self.checking.values())


def _called_name(node: ast.AST) -> str:
    if isinstance(node, ast.Call):
        func = node.func
        return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return ""


def _is_guard(node: ast.If) -> bool:
    last = node.body[-1]
    if not isinstance(last, ast.Raise) or last.exc is None:
        return False
    return _called_name(last.exc) in ("TypeError", "ValueError") or (
        isinstance(last.exc, ast.Name) and last.exc.id in ("TypeError", "ValueError"))


def _span(node: ast.AST) -> range:
    return range(node.lineno, node.end_lineno + 1)


def _imported_checks(tree: ast.Module) -> set[str]:
    """The names a module imports from ``aelib._checks``."""
    return {alias.asname or alias.name for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "aelib._checks"
            for alias in node.names}


def checking_lines(tree: ast.Module) -> set[int]:
    """Line numbers of ``tree`` that check arguments, by the rule in the module docstring."""
    lines: set[int] = set()
    checks = _imported_checks(tree) - {"Check"}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.name.startswith(CHECK_PREFIXES):
                lines.update(_span(node))
            for decorator in node.decorator_list:
                if _called_name(decorator) == "validate":
                    lines.update(_span(decorator))
        elif isinstance(node, (ast.Expr, ast.Assign, ast.AnnAssign, ast.Return)):
            value = node.value
            name = _called_name(value) if value is not None else ""
            called = {n.func.id for n in ast.walk(node)   # array(...), not np.array(...)
                      if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
            if name.startswith(CHECK_PREFIXES) or name == "validate_fields" or called & checks:
                lines.update(_span(node))
        elif isinstance(node, ast.If) and _is_guard(node):
            lines.update(range(node.lineno, node.body[-1].end_lineno + 1))
    return lines


def measure(root: Path) -> Size:
    size = Size()
    for path in sorted((root / "aelib").glob("*.py")):
        text = path.read_text()
        tree = ast.parse(text)
        size.lines[path.name] = len(text.splitlines())
        size.checking[path.name] = (size.lines[path.name] if path.name == "_checks.py"
                                    else len(checking_lines(tree)))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > size.longest[0]:
                    size.longest = (length, f"{path.name}:{node.name}")
            elif isinstance(node, ast.ClassDef) and node.name in EXPLORER_CLASSES:
                size.explorer = node.end_lineno - node.lineno + 1
            elif isinstance(node, ast.ClassDef) and node.name == "VAE":
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name == "loss":
                        size.vae_loss_offset = item.lineno - node.lineno
    return size


def report(after: Size, before: Size | None) -> str:
    rows = [f"{'module':<22}{'lines':>8}{'checking':>10}"
            + (f"{'lines before':>14}{'checking before':>17}" if before else "")]
    for name in sorted(set(after.lines) | set(before.lines if before else {})):
        row = f"{name:<22}{after.lines.get(name, 0):>8}{after.checking.get(name, 0):>10}"
        if before:
            row += f"{before.lines.get(name, 0):>14}{before.checking.get(name, 0):>17}"
        rows.append(row)
    row = f"{'total':<22}{after.total:>8}{after.total_checking:>10}"
    if before:
        row += f"{before.total:>14}{before.total_checking:>17}"
        rows += [row, "", f"lines: {after.total / before.total:.2f} of before; checking lines: "
                 f"{after.total_checking / before.total_checking:.2f} of before"]
    else:
        rows.append(row)
    for label, size in (("now", after), ("before", before)):
        if size:
            rows.append(f"{label}: longest function {size.longest[1]} ({size.longest[0]} "
                        f"lines); LatentExplorer {size.explorer} lines; VAE.loss starts "
                        f"{size.vae_loss_offset} lines into its class")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="another checkout to compare with")
    args = parser.parse_args(argv)
    print(report(measure(ROOT), measure(args.before) if args.before else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
