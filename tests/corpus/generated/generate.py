"""Write the generated part of the corpus: seeded variety in the shapes found in example repositories and charts.

Run from the repository root: ``python tests/corpus/generated/generate.py``. The output is
deterministic (one seed), so the committed files only change when this script does.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
IMAGES = [("nginx:1.27", 80), ("hashicorp/http-echo:1.0", 5678), ("redis:7.2", 6379), ("postgres:16", 5432),
          ("grafana/grafana:11.1.0", 3000), ("prom/prometheus:v2.53.0", 9090), ("ghcr.io/acme/api:2.3.1", 8080),
          ("gcr.io/google-samples/hello-app:2.0", 8080), ("bitnami/memcached:1.6", 11211), ("mysql:8.4", 3306)]


def labels(name: str, rnd: random.Random) -> dict[str, str]:
    if rnd.random() < 0.5:
        return {"app": name}
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": "release"}


def container(name: str, rnd: random.Random, ports: bool = True) -> dict[str, Any]:
    image, port = rnd.choice(IMAGES)
    c: dict[str, Any] = {"name": name, "image": image}
    if ports and rnd.random() < 0.9:
        p: dict[str, Any] = {"containerPort": port}
        if rnd.random() < 0.6:
            p["name"] = rnd.choice(["http", "web", "tcp", "server"])
        if rnd.random() < 0.2:
            p["protocol"] = "TCP"
        c["ports"] = [p]
    if rnd.random() < 0.5:
        c["resources"] = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}
    if rnd.random() < 0.5 and c.get("ports"):
        c["readinessProbe"] = {"tcpSocket": {"port": c["ports"][0]["containerPort"]}}
        c["livenessProbe"] = {"tcpSocket": {"port": c["ports"][0]["containerPort"]}}
    roll = rnd.random()
    if roll < 0.3:
        c["securityContext"] = {"runAsUser": rnd.choice([1000, 101, 65532]), "allowPrivilegeEscalation": False}
    elif roll < 0.5:
        c["securityContext"] = {"runAsNonRoot": True, "runAsUser": 10001}
    if rnd.random() < 0.3:
        c["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    return c


def pod_spec(name: str, rnd: random.Random, ports: bool = True) -> dict[str, Any]:
    c = container(name, rnd, ports)
    spec: dict[str, Any] = {"containers": [c]}
    if c.get("volumeMounts"):
        spec["volumes"] = [{"name": "data", "emptyDir": {}}]
    return spec


def service(name: str, lab: dict[str, str], spec: dict[str, Any], rnd: random.Random,
            headless: bool = False) -> dict[str, Any] | None:
    ports = spec["containers"][0].get("ports")
    if not ports:
        return None
    port = ports[0]
    target: Any = port.get("name") if port.get("name") and rnd.random() < 0.5 else port["containerPort"]
    sp: dict[str, Any] = {"name": "http", "port": rnd.choice([80, port["containerPort"]]), "targetPort": target}
    if rnd.random() < 0.2:
        del sp["targetPort"]
        sp["port"] = port["containerPort"]
    body: dict[str, Any] = {"selector": dict(lab), "ports": [sp]}
    if headless:
        body["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": dict(lab)}, "spec": body}


def deployment(i: int, rnd: random.Random) -> list[dict[str, Any]]:
    name = f"web-{i}"
    lab = labels(name, rnd)
    spec = pod_spec(name, rnd)
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": dict(lab)},
           "spec": {"replicas": rnd.choice([1, 2, 3]), "selector": {"matchLabels": dict(lab)},
                    "template": {"metadata": {"labels": dict(lab)}, "spec": spec}}}
    svc = service(name, lab, spec, rnd)
    return [obj] + ([svc] if svc else [])


def statefulset(i: int, rnd: random.Random) -> list[dict[str, Any]]:
    name = f"db-{i}"
    lab = labels(name, rnd)
    spec = pod_spec(name, rnd)
    c = spec["containers"][0]
    c["volumeMounts"] = [{"name": "data", "mountPath": "/var/lib/data"}]
    spec.pop("volumes", None)
    obj = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
           "spec": {"serviceName": name, "replicas": 3, "selector": {"matchLabels": dict(lab)},
                    "template": {"metadata": {"labels": dict(lab)}, "spec": spec},
                    "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}}
    svc = service(name, lab, spec, rnd, headless=True)
    return [obj] + ([svc] if svc else [])


def daemonset(i: int, rnd: random.Random) -> list[dict[str, Any]]:
    name = f"agent-{i}"
    lab = labels(name, rnd)
    spec = pod_spec(name, rnd)
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": name},
            "spec": {
                "selector": {"matchLabels": dict(lab)},
                "template": {"metadata": {"labels": dict(lab)}, "spec": spec},
            },
        }
    ]


def job_spec(name: str, rnd: random.Random) -> dict[str, Any]:
    c = {"name": name, "image": rnd.choice(["busybox:1.36", "perl:5.34", "alpine:3.20"]),
         "command": rnd.choice([["sh", "-c", "echo done"], ["perl", "-Mbignum=bpi", "-wle", "print bpi(200)"]])}
    return {"restartPolicy": rnd.choice(["Never", "OnFailure"]), "containers": [c]}


def job(i: int, rnd: random.Random) -> list[dict[str, Any]]:
    name = f"batch-{i}"
    return [
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name},
            "spec": {
                "backoffLimit": 2,
                "template": {"metadata": {"labels": {"job": name}}, "spec": job_spec(name, rnd)},
            },
        }
    ]


def cronjob(i: int, rnd: random.Random) -> list[dict[str, Any]]:
    name = f"nightly-{i}"
    return [{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
             "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {
                 "metadata": {"labels": {"job": name}}, "spec": job_spec(name, rnd)}}}}}]


def test_pod(i: int, rnd: random.Random) -> list[dict[str, Any]]:
    """A Helm test hook: a Pod that runs once."""
    name = f"release-test-{i}"
    return [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "annotations": {"helm.sh/hook": "test"}},
             "spec": {"restartPolicy": "Never", "containers": [
                 {"name": "wget", "image": "busybox:1.36", "command": ["wget"], "args": [f"web-{i}:80"]}]}}]


def echo_pod(i: int, rnd: random.Random) -> list[dict[str, Any]]:
    """A bare Pod whose app declares no port (like http-echo samples)."""
    name = f"echo-{i}"
    return [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}},
             "spec": {"containers": [{"name": name, "image": "hashicorp/http-echo:1.0",
                                      "args": ["-text=hello", "-listen=:5678"]}]}}]


def string_port(i: int, rnd: random.Random) -> list[dict[str, Any]]:
    """A chart that quotes its port (`containerPort: "8080"`) or leaves an envsubst placeholder (`${PORT}`);
    the API server rejects both, tools must not crash on them."""
    objs = deployment(1000 + i, rnd)
    port = "8080" if i % 2 == 0 else "${PORT}"
    objs[0]["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"name": "http", "containerPort": port}]
    return objs


KINDS = [(deployment, 90), (statefulset, 30), (daemonset, 15), (job, 25), (cronjob, 20), (test_pod, 15),
         (echo_pod, 10), (string_port, 5)]


def main() -> None:
    rnd = random.Random(13)
    for old in HERE.glob("*.yaml"):
        old.unlink()
    for make, count in KINDS:
        for i in range(count):
            objs = make(i, rnd)
            text = yaml.safe_dump_all(objs, sort_keys=False)
            (HERE / f"{make.__name__.replace('_', '-')}-{i:03d}.yaml").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
