"""Benchmark: start-up of the CLI, the median of N fresh processes of `manifestkit --version`,
`manifestkit --help`, `manifestkit validate` of one small file and `manifestkit render` of one
app to stdout (what Argo CD's Config Management Plugin runs per app: examples/http-echo, which
composes patterns). Not a timed test.

    python bench/bench_startup.py [--runs 21] [--tree DIR ...]

Several ``--tree`` (e.g. main's and a branch's) are run in turns, so load from other jobs
falls on each alike.

Issue 16's target: `--version` at most 0.15 s on the team's machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MANIFEST = """apiVersion: v1
kind: ConfigMap
metadata:
  name: small
  namespace: bench
data:
  key: value
"""


def medians(command: list[str], trees: list[str], runs: int) -> list[float]:
    """The median seconds of ``manifestkit COMMAND`` from each tree, the trees taking turns."""
    times: list[list[float]] = [[] for _ in trees]
    for _ in range(runs):
        for tree, samples in zip(trees, times, strict=True):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "manifestkit", *command],
                env={**os.environ, "PYTHONPATH": tree},
                cwd=tree,
                capture_output=True,
                check=False,
            )
            samples.append(time.perf_counter() - start)
    return [statistics.median(samples) for samples in times]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--tree", action="append", help="a manifestkit source tree to run (default: this one)")
    args = parser.parse_args(argv)
    trees = args.tree or [str(Path(__file__).resolve().parent.parent)]
    for tree in trees:   # as an installed wheel has them (PYTHONDONTWRITEBYTECODE would compile every run)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(tree) / "manifestkit")], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "small.yaml"
        small.write_text(MANIFEST)
        start = time.perf_counter()
        for _ in range(args.runs):
            subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare = (time.perf_counter() - start) / args.runs
        for number, tree in enumerate(trees, 1):
            print(f"tree {number}: {tree}")
        print(f"{'python -c pass':<36} {bare:6.3f}s")
        commands = {"--version": ["--version"], "--help": ["--help"], "validate small.yaml": ["validate", str(small)],
                    "render http-echo -o -": ["render", "examples/http-echo", "-o", "-"]}
        for name, command in commands.items():
            label = f"manifestkit {name}"
            print(f"{label:<36} " + "  ".join(f"{t:6.3f}s" for t in medians(command, trees, args.runs)))


if __name__ == "__main__":
    main(sys.argv[1:])
