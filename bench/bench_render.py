"""Benchmark: `manifestkit render` of a generated project of N apps.

Each app: a Deployment with an init container, an app container and a log-tailing
sidecar, a Service, a 10-key ConfigMap and a Secret. Reports the median wall time of the
CLI (a fresh process, as CI runs it) for each N, beside a PyYAML-C load+dump of the same
output as a yardstick measured in the same run.

    python bench/bench_render.py [N ...]          (default: 200 1000)
"""

from __future__ import annotations

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


def time_render(root: Path) -> tuple[float, str]:
    times = []
    out = ""
    for _ in range(RUNS):
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "manifestkit", "render", str(root), "-o", "-",
                                 "--allow-plaintext-secrets"], capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - start)
        out = result.stdout
    return statistics.median(times), out


def time_yaml(text: str) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        docs = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
        yaml.dump_all(docs, Dumper=yaml.CSafeDumper)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [200, 1000]
    print(f"{'apps':>6} {'objects':>8} {'manifestkit render':>20} {'PyYAML-C load+dump':>20}")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "project"
            generate(root, n)
            seconds, out = time_render(root)
            objects = out.count("\nkind: ") + out.startswith("kind: ")
            print(f"{n:>6} {objects:>8} {seconds:>19.2f}s {time_yaml(out):>19.2f}s")


if __name__ == "__main__":
    main(sys.argv[1:])
