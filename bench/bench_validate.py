"""Benchmark: validating 10,000 Kubernetes objects with manifestkit (library and CLI)
against ``kubernetes_validate.validate`` on the same objects.

    python bench/bench_validate.py [--objects 10000] [--sample 500]

kubernetes-validate loads and compiles the schema again for every object, so it is
timed on a sample (``--sample``) and extrapolated to the full count; the table says so.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import kubernetes_validate

from manifestkit.validation import validate
from manifestkit.yaml_dump import dump_all

KUBE_VERSION = "1.30"


def objects(count: int) -> list[dict[str, Any]]:
    """Deployments, Services and ConfigMaps of many apps across 20 namespaces."""
    out: list[dict[str, Any]] = []
    for i in range(count):
        app, namespace = f"app-{i // 3}", f"team-{i // 3 % 20}"
        labels = {"app.kubernetes.io/name": app}
        meta = {"name": app, "namespace": namespace, "labels": labels}
        kind = i % 3
        if kind == 0:
            out.append(
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": meta,
                    "spec": {
                        "replicas": 2,
                        "selector": {"matchLabels": labels},
                        "template": {
                            "metadata": {"labels": labels},
                            "spec": {
                                "securityContext": {"runAsNonRoot": True, "runAsUser": 101},
                                "containers": [
                                    {
                                        "name": "web",
                                        "image": "nginx:1.25.4",
                                        "ports": [{"name": "http", "containerPort": 8080}],
                                        "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}},
                                        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
                                        "resources": {
                                            "requests": {"cpu": "100m", "memory": "64Mi"},
                                            "limits": {"memory": "128Mi"},
                                        },
                                        "env": [{"name": "MODE", "value": "fast"}],
                                    }
                                ],
                            },
                        },
                    },
                }
            )
        elif kind == 1:
            out.append({"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": {
                "selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
        else:
            out.append(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"MODE": "fast", "LEVEL": str(i)}}
            )
    return out


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=500, help="objects kubernetes-validate is timed on")
    args = parser.parse_args(argv)
    objs = objects(args.objects)
    rows: list[tuple[str, float, str]] = []

    findings = validate(objs[:30], kube_version=KUBE_VERSION, strict=True)   # warm up: compile the three schemas
    assert findings == [], findings
    rows.append(("manifestkit library, schema only (strict)",
                 timed(lambda: validate(objs, kube_version=KUBE_VERSION, strict=True, lint=False)), "measured"))
    rows.append(("manifestkit library, schema + lint (strict)",
                 timed(lambda: validate(objs, kube_version=KUBE_VERSION, strict=True)), "measured"))

    with tempfile.TemporaryDirectory() as tmp:
        per_file = 100
        for n in range(0, len(objs), per_file):
            Path(tmp, f"objects-{n // per_file:04d}.yaml").write_text(dump_all(objs[n:n + per_file]), encoding="utf-8")
        command = [sys.executable, "-m", "manifestkit", "validate", "--strict", "-k", KUBE_VERSION, "--summary", tmp]
        done: list[subprocess.CompletedProcess[str]] = []
        seconds = timed(lambda: done.append(subprocess.run(command, capture_output=True, text=True, check=False)))
        assert done[0].returncode == 0, done[0].stdout + done[0].stderr
        rows.append(
            (
                f"manifestkit CLI, {len(objs) // per_file} files (YAML read + schema + lint, process start)",
                seconds,
                "measured",
            )
        )

    sample = objs[:args.sample]
    kv = timed(lambda: [kubernetes_validate.validate(o, KUBE_VERSION, strict=True) for o in sample])
    how = "measured" if len(sample) == len(objs) else f"{len(sample)} measured, x{len(objs) / len(sample):.0f}"
    rows.append(("kubernetes_validate.validate (strict), one call per object", kv * len(objs) / len(sample), how))

    width = max(len(r[0]) for r in rows)
    print(f"{'validating ' + format(len(objs), ',') + ' objects':<{width}}  {'seconds':>8}  {'objects/s':>10}  how")
    for name, secs, note in rows:
        print(f"{name:<{width}}  {secs:8.2f}  {len(objs) / secs:10,.0f}  {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
