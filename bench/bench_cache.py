"""Benchmark: incremental renders (the render cache) and the process pool. Not a timed test.

    python bench/bench_cache.py [N ...] [--runs 5] [--no-lint]     # cold, warm unchanged, warm with one app changed
    python bench/bench_cache.py --pool [N ...] [--runs 5]          # --jobs 1 against --jobs 2, cold, no cache

The project is bench_render.py's (each app a Deployment with three containers, a Service, a ConfigMap, a Secret).
Every number is the median wall time of the CLI in a fresh process, as CI runs it, writing to a folder; the kinds of
run take turns within each round so load from other jobs falls on each alike:

- cold: an empty cache and an empty output folder (a first render in CI);
- cold, folder up to date: an empty cache, the output folder already rendered (the writer has as little to do as
  in the warm runs, so the difference is the cache's alone);
- warm, unchanged: the cache and the folder from the previous render, nothing changed;
- warm, one app changed: one App file edited (its image tag) since the previous render.

``--pool`` renders without the cache, serially (``--jobs 1``) and with two workers (``--jobs 2``), for each N: where
the two cross is the threshold ``render_pool.AUTO_THRESHOLD``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_render import generate  # the same project as the render benchmark

TREE = str(Path(__file__).resolve().parent.parent)


def render(root: Path, out: Path, *flags: str) -> float:
    env = {**os.environ, "PYTHONPATH": TREE}
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "manifestkit", "render", str(root), "-o", str(out),
                               "--allow-plaintext-secrets", *flags], env=env, cwd=TREE, stdout=subprocess.DEVNULL,
                              stderr=err, check=False)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"render failed: {err.read().decode()[-2000:]}")
    return seconds


def edit(root: Path, round_: int) -> None:
    """Change one app's image tag (a new tag each round, so every warm-changed run has one app to render)."""
    app = root / "apps" / "app-0.yaml"
    text = app.read_text()
    start = text.index("ghcr.io/example/app:")
    end = text.index("\n", start)
    app.write_text(f"{text[:start]}ghcr.io/example/app:0.{round_}.{time.time_ns()}{text[end:]}")


def cache_rounds(n: int, runs: int, lint: list[str]) -> dict[str, float]:
    times: dict[str, list[float]] = {"cold": [], "cold, folder up to date": [], "warm, unchanged": [],
                                     "warm, one app changed": []}
    with tempfile.TemporaryDirectory() as tmp:
        root, out, cache = Path(tmp) / "project", Path(tmp) / "out", Path(tmp) / "cache"
        generate(root, n)
        for round_ in range(runs):
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(cache, ignore_errors=True)
            times["cold"].append(render(root, out, "--cache-dir", str(cache), *lint))
            shutil.rmtree(cache)
            times["cold, folder up to date"].append(render(root, out, "--cache-dir", str(cache), *lint))
            times["warm, unchanged"].append(render(root, out, "--cache-dir", str(cache), *lint))
            edit(root, round_)
            times["warm, one app changed"].append(render(root, out, "--cache-dir", str(cache), *lint))
    return {kind: statistics.median(samples) for kind, samples in times.items()}


def pool_rounds(n: int, runs: int, lint: list[str]) -> tuple[float, float]:
    serial: list[float] = []
    pooled: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        root, out = Path(tmp) / "project", Path(tmp) / "out"
        generate(root, n)
        render(root, out, "--no-cache", *lint)
        for _ in range(runs):
            serial.append(render(root, out, "--no-cache", "--jobs", "1", *lint))
            pooled.append(render(root, out, "--no-cache", "--jobs", "2", *lint))
    return statistics.median(serial), statistics.median(pooled)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", nargs="*", type=int)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pool", action="store_true", help="--jobs 1 against --jobs 2 instead")
    parser.add_argument("--no-lint", action="store_true", help="render with --no-lint (the lint of the output "
                                                                 "is not cached)")
    args = parser.parse_args(argv)
    lint = ["--no-lint"] if args.no_lint else []
    print(f"cores: {len(os.sched_getaffinity(0))}, runs: {args.runs}{', --no-lint' if lint else ''}")
    if args.pool:
        print(f"{'apps':>6} {'--jobs 1':>9} {'--jobs 2':>9} {'2 / 1':>6}")
        for n in args.sizes or [25, 50, 100, 150, 200, 400, 1000]:
            serial, pooled = pool_rounds(n, args.runs, lint)
            print(f"{n:>6} {serial:>8.2f}s {pooled:>8.2f}s {pooled / serial:>6.2f}")
        return
    for n in args.sizes or [1000]:
        medians = cache_rounds(n, args.runs, lint)
        cold = medians["cold"]
        print(f"N = {n}")
        for kind, seconds in medians.items():
            print(f"  {kind:<26} {seconds:>7.2f}s  {seconds / cold:>6.1%} of cold")


if __name__ == "__main__":
    main(sys.argv[1:])
