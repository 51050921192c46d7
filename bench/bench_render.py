"""Benchmark: `manifestkit render` of a generated project of N apps, paired with a yardstick.

Each app: a Deployment with an init container, an app container and a log-tailing
sidecar, a Service, a 10-key ConfigMap and a Secret. For each N it reports the median wall
time of the CLI (a fresh process, as CI runs it, writing block YAML to a folder), its peak
memory (max RSS), the same output loaded and dumped by PyYAML's C loader and dumper (the
yardstick, timed in the same run), the ratio of the two, and t(N)/t(200). Not a timed test.

    python bench/bench_render.py [N ...] [--big] [--helm] [--runs 5] [--tree DIR ...]

``--big`` adds N = 10,000; ``--tree`` runs manifestkit from another source tree, and several
(main's and a branch's: a before/after comparison in one run) take turns run by run, so load
from other jobs falls on each alike. ``--helm`` adds the peer: Helm's template rendering
(helm-python-sdk) of the charts manifestkit's helm format writes for the same apps.
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

import yaml

RUNS = 5

APP = """apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {{name: app-{i}, namespace: bench}}
spec:
  replicas: 2
  initContainers:
    - name: init
      image: busybox:1.36
      command: [sh, -c, "echo init"]
  containers:
    - name: app
      image: ghcr.io/example/app:{i}.0.0
      ports: [{{name: http, containerPort: 8080}}]
      env: {{MODE: fast, INDEX: "{i}"}}
      volumeMounts: [{{name: logs, mountPath: /var/log/app}}]
      resources: {{requests: {{cpu: 10m, memory: 32Mi}}, limits: {{memory: 64Mi}}}}
    - name: log-tailer
      image: busybox:1.36
      args: [/bin/sh, -c, "tail -n+1 -F /var/log/app/app.log"]
      volumeMounts: [{{name: logs, mountPath: /var/log/app, readOnly: true}}]
  volumes: [{{name: logs, emptyDir: {{}}}}]
  configMaps:
    app-{i}-config:
      data: {{{config}}}
  secrets:
    app-{i}-secret:
      stringData: {{token: not-a-real-secret-{i}}}
  service: {{ports: [{{name: http, port: 80, targetPort: http}}]}}
"""

PROJECT = """apiVersion: manifestkit.dev/v1alpha1
kind: Project
metadata: {name: bench}
spec:
  apps: [apps/*.yaml]
  kubernetesVersion: "1.30"
"""


def generate(root: Path, n: int) -> None:
    (root / "apps").mkdir(parents=True)
    (root / "manifestkit.yaml").write_text(PROJECT)
    config = ", ".join(f"KEY_{k}: value-{k}" for k in range(10))
    for i in range(n):
        (root / "apps" / f"app-{i}.yaml").write_text(APP.format(i=i, config=config))


def run_once(root: Path, out: Path, tree: str) -> tuple[float, int]:
    """Wall seconds and peak RSS (MiB) of one render into ``out``."""
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": tree}
    with tempfile.TemporaryFile() as err:   # a file, not a pipe: lint findings must not fill it and stall
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "manifestkit", "render", str(root), "-o", str(out),
                                 "--allow-plaintext-secrets"], env=env, cwd=tree, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        if status != 0:
            err.seek(0)
            raise SystemExit(f"render failed: {err.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss // 1024


def time_render(root: Path, out: Path, trees: list[str], runs: int) -> tuple[list[tuple[float, int]], str]:
    """Per tree: the median seconds and the peak MiB of rendering ``root``; and the last output."""
    samples: list[list[tuple[float, int]]] = [[] for _ in trees]
    for _ in range(runs):
        for tree, mine in zip(trees, samples, strict=True):
            mine.append(run_once(root, out, tree))
    text = "---\n".join(p.read_text() for p in sorted(out.rglob("*.yaml")))
    return [(statistics.median(s for s, _ in mine), max(m for _, m in mine)) for mine in samples], text


def time_helm(root: Path, out: Path, tree: str, runs: int) -> float:
    """The peer: Helm's own template rendering (helm-python-sdk, in this process) of the charts
    manifestkit's helm format writes for ``root``, with each chart's env values."""
    import helm_python  # a test extra; only with --helm

    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "manifestkit", "render", str(root), "-f", "helm", "-o", str(out),
                    "--allow-plaintext-secrets"], env={**os.environ, "PYTHONPATH": tree}, cwd=tree, check=True,
                   capture_output=True)
    charts = sorted(p.parent for p in (out / "charts").glob("*/Chart.yaml"))
    values = {chart: yaml.safe_load(next(chart.glob("values-*.yaml")).read_text()) or {} for chart in charts}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for chart in charts:
            with helm_python.Chart.load(str(chart)) as loaded:
                loaded.render(values[chart], name=chart.name, namespace="default")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_yaml(text: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        docs = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
        yaml.dump_all(docs, Dumper=yaml.CSafeDumper)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", nargs="*", type=int, default=[200, 1000])
    parser.add_argument("--big", action="store_true", help="add N = 10,000")
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--helm", action="store_true", help="also time `helm template` of the equivalent charts")
    parser.add_argument("--tree", action="append", help="a manifestkit source tree to run (default: this one)")
    args = parser.parse_args(argv)
    trees = args.tree or [str(Path(__file__).resolve().parent.parent)]
    sizes = [*args.sizes, *([10_000] if args.big else [])]
    for number, tree in enumerate(trees, 1):
        print(f"tree {number}: {tree}")
    print(f"{'tree':>4} {'apps':>6} {'objects':>8} {'render':>9} {'yardstick':>10} {'ratio':>7} {'t(N)/t(200)':>12} "
          f"{'peak MiB':>9}")
    base: dict[int, float] = {}
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "project"
            generate(root, n)
            results, out = time_render(root, Path(tmp) / "out", trees, args.runs)
            yardstick = time_yaml(out, args.runs)
            objects = out.count("\nkind: ") + out.startswith("kind: ")
            for number, (seconds, peak) in enumerate(results, 1):
                if n == 200:
                    base[number] = seconds
                scale = f"{seconds / base[number]:.2f}" if number in base else "-"
                print(
                    f"{number:>4} {n:>6} {objects:>8} {seconds:>8.2f}s {yardstick:>9.2f}s {seconds / yardstick:>7.1f} "
                    f"{scale:>12} {peak:>9}"
                )
            if args.helm:
                helm = time_helm(root, Path(tmp) / "helm", trees[-1], args.runs)
                print(
                    f"helm {n:>6} {'':>8} {helm:>8.2f}s   (helm-python-sdk, warm, in-process); manifestkit / helm: "
                    + ", ".join(f"tree {number} {seconds / helm:.1f}" for number, (seconds, _) in enumerate(results, 1))
                )


if __name__ == "__main__":
    main(sys.argv[1:])
