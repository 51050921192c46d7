"""Benchmark: `manifestkit render` of a generated project of N apps and its peers, each
paired with a yardstick, in one run. Not a timed test.

The workload (bench/workload.py, issue 16): each app a Deployment with an init container, an
app container and a log-tailing sidecar (probes, security contexts, env from its ConfigMap
and Secret), a Service, a 10-key ConfigMap and a 2-key Secret; one environment, ``prod``.
Every row renders the same objects, the ``prod`` environment (the peers' equality with
manifestkit's plain render is checked once per N, see bench/peers.py):

- manifestkit ``render`` in each format (a fresh process, as CI runs it, writing block YAML
  to a folder): cold, with ``MANIFESTKIT_CACHE_DIR`` an empty folder; and, when
  ``manifestkit render --help`` lists ``--no-cache``, warm: the same folders again after one
  App changed;
- ``helm template`` (Helm's Go engine through helm-python-sdk, in a child process: see
  bench/helm_template.py) of manifestkit's charts (one per app, and the umbrella chart of
  ``spec.output.umbrella``), of a hand-written chart of all services (one template per kind,
  ``range`` over the services, a per-service checksum) and of that chart once per service;
- ``kubectl kustomize`` of manifestkit's tree (``overlays/prod``; with ``--kustomize-each``
  also each ``overlays/prod/<app>`` alone, one process each, at any N) and of a flat
  kustomization of the plain render's files (Kustomize's own floor for these objects);
- ``kapitan compile`` of an equivalent kapitan project (inventory + Jinja2 templates), when a
  kapitan is found (``--kapitan``; kapitan's dependencies clash with manifestkit's venv, so
  give it its own: ``python -m venv /tmp/kapitan && /tmp/kapitan/bin/pip install kapitan``).

Per row: the median wall time, the yardstick (PyYAML's C loader and dumper over the plain
render's output, timed in the same rounds), their ratio, the ratio to ``helm template`` of
the hand-written chart, t(N)/t(200) and the peak memory (max RSS) of the child process.

    python bench/bench_render.py [N ...] [--big] [--runs 3] [--tree DIR ...] [--only ROW ...]
        [--skip ROW ...] [--kapitan PATH] [--kustomize-each] [--kustomize-max N] [--helm]

``--big`` adds N = 10,000; ``--tree`` runs manifestkit from another source tree, and several
(main's and a branch's: a before/after comparison in one run) take turns run by run, so load
from other jobs falls on each alike; the peers use the last tree's output. ``--only`` /
``--skip`` pick rows by name prefix (``mk``, ``helm``, ``kustomize``, ``kapitan``).
``kubectl kustomize`` of a whole environment grows faster than linearly in Kustomize itself
(each object added is compared with every object before it), so it runs only up to
``--kustomize-max`` (default 1,000). ``--helm`` is accepted for old command lines (the helm
rows are always on).
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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import peers
import workload
import yaml

RUNS = 3
BENCH = Path(__file__).resolve().parent
HELM_TEMPLATE = str(BENCH / "helm_template.py")


@dataclass
class Row:
    """One line of the table: how to run it once, and its samples."""

    name: str
    run: Callable[[], tuple[float, int | None]]          # seconds, peak MiB (None: not measured)
    before: Callable[[], None] = lambda: None             # untimed, before each sample
    samples: list[tuple[float, int | None]] = field(default_factory=list)
    failed: str = ""

    def seconds(self) -> float:
        return statistics.median(s for s, _ in self.samples)

    def peak(self) -> str:
        peaks = [m for _, m in self.samples if m is not None]
        return str(max(peaks)) if peaks else "-"


GNU_TIME = "/usr/bin/time"


class Failed(Exception):
    """A row's process failed: the row is reported with the reason, the others go on."""


def child(argv: list[str], cwd: str | None = None, env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (MiB) of one child process; its stderr goes to a file, not a
    pipe (lint findings must not fill it and stall the child). The peak comes from GNU time
    when there is one: a child forked from this (large) process would otherwise report this
    process's size as its own (Linux keeps the forked copy's high-water mark across exec)."""
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as peak:
        wrapped = [GNU_TIME, "-f", "%M", "-o", peak.name, *argv] if os.path.exists(GNU_TIME) else argv
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        if status != 0:
            err.seek(0)
            lines = err.read().decode(errors="replace").strip().splitlines() or [f"exit status {status}"]
            raise Failed(lines[-1][-300:])
        kib = int(peak.read().split()[-1]) if wrapped is not argv else usage.ru_maxrss
    return seconds, kib // 1024


def render_argv(root: Path, out: Path, fmt: str) -> list[str]:
    return [sys.executable, "-m", "manifestkit", "render", str(root), "-f", fmt, "-o", str(out),
            "--allow-plaintext-secrets"]


def tree_env(tree: str, cache: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": tree, "MANIFESTKIT_CACHE_DIR": str(cache)}


def has_cache(tree: str) -> bool:
    done = subprocess.run([sys.executable, "-m", "manifestkit", "render", "--help"], cwd=tree, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": tree}, check=False)
    return "--no-cache" in done.stdout


# ------------------------------------------------------------------ rows

def manifestkit_rows(label: str, tree: str, root: Path, tmp: Path, warm: bool) -> list[Row]:
    """Each format cold, then (with a cache) warm. Every cold run writes into a folder of its own, never
    emptied before it: on ext4 creating files soon after deleting many costs several times more (the
    bench's own ``rm -rf`` would be timed as manifestkit's writes); a warm run renders into the last cold
    run's folder with its cache. Folders are removed with the bench's temporary folder at the end."""
    rows = []
    for fmt in ("plain", "kustomize", "helm"):
        last: list[tuple[Path, Path]] = []

        def cold(fmt: str = fmt, last: list[tuple[Path, Path]] = last) -> tuple[float, int]:
            out, cache = (tmp / f"{kind}-{label}-{fmt}-{len(last)}" for kind in ("out", "cache"))
            cache.mkdir()
            last.append((out, cache))
            return child(render_argv(root, out, fmt), cwd=tree, env=tree_env(tree, cache))

        rows.append(Row(f"mk {fmt} cold{label}", cold))
        if warm:
            def warm_run(fmt: str = fmt, last: list[tuple[Path, Path]] = last) -> tuple[float, int]:
                out, cache = last[-1]
                try:
                    return child(render_argv(root, out, fmt), cwd=tree, env=tree_env(tree, cache))
                finally:
                    workload.restore_app(root)

            rows.append(Row(f"mk {fmt} warm{label}", warm_run, before=lambda: workload.touch_app(root)))
    return rows


def peer_rows(tree: str, root: Path, tmp: Path, n: int, args: argparse.Namespace) -> list[Row]:
    """The peers, on files written once (manifestkit's by ``tree``)."""
    env = tree_env(tree, tmp / "cache-peers")
    emitted = {}
    for fmt in ("plain", "kustomize", "helm"):
        emitted[fmt] = tmp / f"peer-{fmt}"
        child(render_argv(root, emitted[fmt], fmt), cwd=tree, env=env)
    umbrella_root = tmp / "umbrella-project"
    shutil.copytree(root, umbrella_root)
    (umbrella_root / "manifestkit.yaml").write_text(workload.PROJECT + "  output: {umbrella: true}\n")
    child(render_argv(umbrella_root, tmp / "peer-umbrella", "helm"), cwd=tree, env=env)
    hand_one = peers.write_one_chart(tmp / "hand-one", n)
    hand_each = peers.write_chart_per_app(tmp / "hand-each", n)
    project = peers.write_kapitan(tmp, n) if args.kapitan else None
    if project is not None:
        try:
            child([args.kapitan, "compile"], cwd=str(project))
        except Failed as failure:
            print(f"kapitan compile: skipped at N={n}, it failed: {failure}")
            project = None
    peers.check_same_objects(emitted["plain"] / workload.ENV, hand_one, project and project / "compiled")

    def helm(chart_root: Path) -> Callable[[], tuple[float, int]]:
        return lambda: child([sys.executable, HELM_TEMPLATE, str(chart_root)])

    rows = [
        Row("helm template, hand-written chart", helm(hand_one)),
        Row("helm template, hand-written chart per app", helm(hand_each)),
        Row("helm template, mk charts (one per app)", helm(emitted["helm"] / "charts")),
        Row("helm template, mk umbrella chart", helm(tmp / "peer-umbrella" / "charts" / workload.PROJECT_NAME)),
    ]
    kubectl = shutil.which("kubectl")
    overlay = emitted["kustomize"] / "overlays" / workload.ENV
    if kubectl is None:
        print("kubectl kustomize: skipped, kubectl is not on PATH")
    elif n > args.kustomize_max:
        print(f"kubectl kustomize of a whole env: skipped at N={n} (> --kustomize-max {args.kustomize_max}): "
              f"Kustomize compares each object it adds with every object before it, so it takes minutes here")
    else:
        floor = peers.write_flat_kustomization(emitted["plain"] / workload.ENV)
        rows.append(Row("kustomize, mk tree (whole env)", lambda: child([kubectl, "kustomize", str(overlay)])))
        rows.append(Row("kustomize, flat list of the plain files", lambda: child([kubectl, "kustomize", str(floor)])))
    if kubectl is not None and args.kustomize_each:
        apps = sorted(p.parent for p in overlay.glob("*/kustomization.yaml"))

        def each() -> tuple[float, int]:
            runs = [child([kubectl, "kustomize", str(app)]) for app in apps]
            return sum(s for s, _ in runs), max(m for _, m in runs)

        rows.append(Row("kustomize, mk tree (each app alone)", each))
    if project is not None:
        def kapitan(project: Path = project) -> tuple[float, int]:
            shutil.rmtree(project / "compiled", ignore_errors=True)
            return child([args.kapitan, "compile"], cwd=str(project))

        rows.append(Row("kapitan compile", kapitan))
    return rows


def time_yaml(text: str) -> float:
    start = time.perf_counter()
    docs = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    yaml.dump_all(docs, Dumper=yaml.CSafeDumper)
    return time.perf_counter() - start


def selected(name: str, args: argparse.Namespace) -> bool:
    key = name.split(",")[0].split(" ")[0]
    return (not args.only or key in args.only) and key not in (args.skip or [])


# ------------------------------------------------------------------ main

def find_kapitan(given: str | None) -> str | None:
    path = given or shutil.which("kapitan")
    if path is None:
        print("kapitan: skipped, not found (give --kapitan PATH; install it in its own venv, see the docstring)")
        return None
    done = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"kapitan: skipped, {path} --version failed: {done.stderr.strip()[-300:]}")
        return None
    print(f"kapitan {done.stdout.strip()} ({path})")
    return path


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", nargs="*", type=int, default=[200, 1000])
    parser.add_argument("--big", action="store_true", help="add N = 10,000")
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--helm", action="store_true", help="accepted for old command lines: helm rows always run")
    parser.add_argument("--tree", action="append", help="a manifestkit source tree to run (default: this one)")
    parser.add_argument("--only", action="append", help="run only rows starting with this word (mk, helm, ...)")
    parser.add_argument("--skip", action="append", help="skip rows starting with this word")
    parser.add_argument("--kapitan", help="the kapitan executable (default: kapitan on PATH)")
    parser.add_argument("--kustomize-each", action="store_true", help="also build each app's overlay alone")
    parser.add_argument("--kustomize-max", type=int, default=1000, help="largest N for kubectl kustomize")
    args = parser.parse_args(argv)
    trees = args.tree or [str(BENCH.parent)]
    sizes = [*args.sizes, *([10_000] if args.big else [])]
    if selected("kapitan", args):
        args.kapitan = find_kapitan(args.kapitan)
    else:
        args.kapitan = None
    for number, tree in enumerate(trees, 1):
        print(f"tree {number}: {tree} (cache: {'yes' if has_cache(tree) else 'no'})")
    print(f"runs: {args.runs}, medians; yardstick: PyYAML C load + dump of the plain render's output")
    header = (f"{'row':<46} {'N':>6} {'objects':>8} {'time':>9} {'yardstick':>10} {'ratio':>7} {'/helm':>7} "
              f"{'t(N)/t(200)':>12} {'peak MiB':>9}")
    first: dict[str, float] = {}
    for tree in trees:   # as an installed wheel has them: without, each run would compile every module
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(tree) / "manifestkit")], check=True)
    with tempfile.TemporaryDirectory() as top:   # removed once, at the end (see manifestkit_rows)
        for n in sizes:
            tmp = Path(top) / f"n{n}"
            tmp.mkdir()
            root = tmp / "project"
            workload.generate(root, n)
            rows = [row for number, tree in enumerate(trees, 1)
                    for row in manifestkit_rows(f" (tree {number})" if len(trees) > 1 else "", tree, root, tmp,
                                                has_cache(tree))]
            try:
                rows += peer_rows(trees[-1], root, tmp, n, args)
            except Failed as failure:
                raise SystemExit(f"writing the peers' inputs failed: {failure}") from None
            rows = [row for row in rows if selected(row.name, args)]
            text = peers.plain_text(tmp / "peer-plain" / workload.ENV)
            yardsticks = []
            for _ in range(args.runs):
                for row in (r for r in rows if not r.failed):
                    row.before()
                    try:
                        row.samples.append(row.run())
                    except Failed as failure:
                        row.failed = str(failure)
                yardsticks.append(time_yaml(text))
            yardstick = statistics.median(yardsticks)
            objects = text.count("\nkind: ") + text.startswith("kind: ")
            helm = next((r.seconds() for r in rows if r.name == "helm template, hand-written chart" and not r.failed),
                        None)
            print(header)
            for row in rows:
                if row.failed:
                    print(f"{row.name:<46} {n:>6} {objects:>8} failed: {row.failed}", flush=True)
                    continue
                seconds = row.seconds()
                if n == 200:
                    first[row.name] = seconds
                scale = f"{seconds / first[row.name]:.2f}" if row.name in first else "-"
                to_helm = f"{seconds / helm:.2f}" if helm else "-"
                print(f"{row.name:<46} {n:>6} {objects:>8} {seconds:>8.2f}s {yardstick:>9.2f}s "
                      f"{seconds / yardstick:>7.2f} {to_helm:>7} {scale:>12} {row.peak():>9}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
