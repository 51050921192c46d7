"""Benchmark: start-up of the CLI, the median of N fresh processes of `manifestkit --version`,
`manifestkit --help` and `manifestkit validate` of one small file. Not a timed test.

    python bench/bench_startup.py [--runs 21] [--tree DIR]

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


def median_seconds(command: list[str], tree: str, runs: int) -> float:
    env = {**os.environ, "PYTHONPATH": tree}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "manifestkit", *command], env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--tree", default=str(Path(__file__).resolve().parent.parent),
                        help="the manifestkit source tree to run (default: this one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "small.yaml"
        small.write_text(MANIFEST)
        start = time.perf_counter()
        for _ in range(args.runs):
            subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare = (time.perf_counter() - start) / args.runs
        print(f"tree: {args.tree}\n{'python -c pass':<36} {bare:6.3f}s")
        for command in (["--version"], ["--help"], ["validate", str(small)]):
            label = "manifestkit " + " ".join(command if command[0] != "validate" else ["validate", "small.yaml"])
            print(f"{label:<36} {median_seconds(command, args.tree, args.runs):6.3f}s")


if __name__ == "__main__":
    main(sys.argv[1:])
