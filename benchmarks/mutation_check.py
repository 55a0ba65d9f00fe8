"""A small mutation-testing run: break chosen functions one change at a time and check the tests notice.

Not a benchmark of speed: a check of the tests. For each function named with --target FILE:FUNC[,FUNC...], every
mutation point of these kinds is tried, one at a time, in a scratch copy of src/ and tests/ (the checkout is never
touched):

- comparison swapped (< and <=, > and >=, == and !=, is and is not, in and not in);
- arithmetic swapped (+ and -, * and /), ``and``/``or`` swapped, ``not x`` replaced by ``x``;
- an integer constant off by one (n -> n + 1), True and False swapped;
- a statement (assignment, augmented assignment or call) replaced by ``pass``.

Each mutant runs the given tests (``pytest -x``, stopping at the first failure) under a timeout of --timeout_factor
times the unmutated run's time: killed (a test failed), survived (all passed) or timeout (counted as killed, as
mutmut does). Survivors are printed with their line and change, so each can be judged: a real gap in the tests, or
an equivalent mutant (a change that cannot alter behaviour).

    python benchmarks/mutation_check.py --target src/rnnkit/nn/base.py:_run,_scan_segments,_segments,_reverse_index \\
        --tests tests/nn/test_short_batches.py tests/nn/test_layers.py
    python benchmarks/mutation_check.py --target src/rnnkit/train/trainer.py:_run_epoch,_optimizer_step,_restore \\
        --tests tests/train/test_accumulation.py "tests/train/test_trainer.py -k 'resume or accum'"

mutmut 3 and cosmic-ray mutate whole files and run the whole selected suite per mutant; on a shared 2-core
machine that did not finish in the time available, so this script restricts mutants to the named functions and
tests. It appends its score to benchmarks/RESULTS.md unless --no_append.
"""

from __future__ import annotations

import argparse
import ast
import copy
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_results, markdown_table

ROOT = Path(__file__).resolve().parent.parent
SWAP_CMP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
            ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}  # fmt: skip
SWAP_BIN = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}


def mutation_points(func: ast.AST) -> Iterator[tuple[ast.AST, str, str]]:
    """(node, kind, description) for every mutation point inside ``func`` (docstrings and log calls skipped)."""
    for node in ast.walk(func):
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                if type(op) in SWAP_CMP:
                    yield node, f"cmp{i}", f"{type(op).__name__} -> {SWAP_CMP[type(op)].__name__}"
        elif isinstance(node, ast.BinOp) and type(node.op) in SWAP_BIN:
            yield node, "bin", f"{type(node.op).__name__} -> {SWAP_BIN[type(node.op)].__name__}"
        elif isinstance(node, ast.BoolOp):
            yield node, "bool", f"{type(node.op).__name__} -> {'Or' if isinstance(node.op, ast.And) else 'And'}"
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            yield node, "not", "not x -> x"
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            yield node, "int", f"{node.value} -> {node.value + 1}"
        elif isinstance(node, ast.Constant) and type(node.value) is bool:
            yield node, "boolc", f"{node.value} -> {not node.value}"
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign) or (
            isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and not _is_log(node.value)
        ):
            yield node, "stmt", "statement -> pass"


def _is_log(call: ast.Call) -> bool:
    f = call.func
    return (
        isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in ("log", "logging", "warnings")
    )


class Mutate(ast.NodeTransformer):
    """Apply mutation number ``target`` (in mutation_points order over the chosen functions)."""

    def __init__(self, target: tuple[int, int, str]) -> None:
        self.lineno, self.col, self.kind = target
        self.done = False

    def generic_visit(self, node: ast.AST) -> ast.AST:
        node = super().generic_visit(node)
        if self.done or getattr(node, "lineno", None) != self.lineno or getattr(node, "col_offset", None) != self.col:
            return node
        k = self.kind
        if k.startswith("cmp") and isinstance(node, ast.Compare):
            i = int(k[3:])
            node.ops[i] = SWAP_CMP[type(node.ops[i])]()
        elif k == "bin" and isinstance(node, ast.BinOp):
            node.op = SWAP_BIN[type(node.op)]()
        elif k == "bool" and isinstance(node, ast.BoolOp):
            node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        elif k == "not" and isinstance(node, ast.UnaryOp):
            self.done = True
            return node.operand
        elif k == "int" and isinstance(node, ast.Constant) and type(node.value) is int:
            node.value += 1
        elif k == "boolc" and isinstance(node, ast.Constant) and type(node.value) is bool:
            node.value = not node.value
        elif k == "stmt" and isinstance(node, ast.stmt):
            self.done = True
            return ast.copy_location(ast.Pass(), node)
        else:
            return node
        self.done = True
        return node


def mutants(path: Path, funcs: list[str]) -> list[tuple[tuple[int, int, str], str, str]]:
    tree = ast.parse(path.read_text())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name in funcs:
            body = node.body[1:] if ast.get_docstring(node) else node.body
            for stmt in body:
                for point, kind, desc in mutation_points(stmt):
                    out.append(((point.lineno, point.col_offset, kind), f"{node.name}:{point.lineno}", desc))  # type: ignore[attr-defined]
    return sorted(set(out))


def run_tests(scratch: Path, tests: list[str], timeout: float) -> tuple[str, float]:
    env = {**os.environ, "PYTHONPATH": str(scratch / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    t0 = time.perf_counter()
    outcome = "survived"
    for spec in tests:
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "-x",
            "-q",
            "-p",
            "no:randomly",
            "--hypothesis-seed=0",
            *shlex.split(spec),
        ]
        left = timeout - (time.perf_counter() - t0)
        try:
            rc = subprocess.run(cmd, cwd=scratch, env=env, capture_output=True, timeout=max(left, 1)).returncode
        except subprocess.TimeoutExpired:
            return "timeout", time.perf_counter() - t0
        if rc != 0:
            outcome = "killed"
            break
    return outcome, time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", action="append", required=True, help="FILE:FUNC[,FUNC...] (repeatable)")
    p.add_argument("--tests", nargs="+", required=True, help="pytest arguments, one quoted string per run")
    p.add_argument("--timeout_factor", type=float, default=3.0)
    p.add_argument("--sample", type=int, default=0, help="per target, a seeded random sample of this many (0: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of --sample")
    p.add_argument("--no_append", action="store_true")
    args = p.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="rnnkit_mut_"))
    for folder in ("src", "tests"):
        shutil.copytree(ROOT / folder, scratch / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", scratch / "pyproject.toml")
    base_outcome, base_time = run_tests(scratch, args.tests, timeout=3600)
    if base_outcome != "survived":
        raise SystemExit(f"the tests fail without any mutation ({base_outcome}); fix them first")
    print(f"unmutated run: {base_time:.0f} s", flush=True)
    counts = {"killed": 0, "survived": 0, "timeout": 0}
    survivors = []
    for target in args.target:
        file, _, names = target.partition(":")
        path = scratch / file
        original = path.read_text()
        tree = ast.parse(original)
        todo = mutants(path, names.split(","))
        if args.sample and args.sample < len(todo):
            print(f"{file}: a random sample of {args.sample} of its {len(todo)} mutants (seed {args.seed})")
            todo = sorted(random.Random(args.seed).sample(todo, args.sample))
        print(f"{file}: {len(todo)} mutants in {names}", flush=True)
        for key, where, desc in todo:
            mutated = Mutate(key).visit(copy.deepcopy(tree))
            path.write_text(ast.unparse(ast.fix_missing_locations(mutated)))
            try:
                outcome, seconds = run_tests(scratch, args.tests, timeout=args.timeout_factor * base_time)
            finally:
                path.write_text(original)
            counts[outcome] += 1
            print(f"{outcome:8s} {file}:{where} {desc} ({seconds:.0f} s)", flush=True)
            if outcome == "survived":
                survivors.append([f"{file}:{where}", desc])
    shutil.rmtree(scratch, ignore_errors=True)
    total = sum(counts.values())
    score = (counts["killed"] + counts["timeout"]) / max(total, 1)
    summary = (
        f"{total} mutants: {counts['killed']} killed, {counts['timeout']} timeouts, {counts['survived']} survived; "
        f"score {score:.2f} ((killed + timeouts) / all). Tests: {' | '.join(args.tests)}."
    )
    print(summary)
    if not args.no_append:
        cmd = "python benchmarks/mutation_check.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        table = markdown_table(["survivor", "change"], survivors) if survivors else "(no survivor)"
        append_results("Mutation testing: " + ", ".join(args.target), table, cmd, summary)


if __name__ == "__main__":
    main()
