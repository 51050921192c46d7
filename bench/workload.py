"""The bench workload (issue 16): N services, each an App with a Deployment of an init
container, an app container and a log-tailing sidecar (probes, security contexts, env from
its ConfigMap and Secret), a Service, a 10-key ConfigMap and a 2-key Secret; one environment,
``prod``, whose overlay moves every object to another namespace, labels it, sets replicas and
rewrites the busybox image (so Kustomize's and Helm's environment mechanisms do real work).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

PROJECT_NAME = "bench"
ENV = "prod"
PROD = {"namespace": "bench-prod", "env": "prod", "replicas": 3, "busyboxTag": "1.37"}
APP_RESOURCES = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}}
TAILER_RESOURCES = {"requests": {"cpu": "5m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}}

APP = """apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {{name: app-{i}, namespace: bench}}
spec:
  replicas: 2
  securityContext: {{runAsNonRoot: true, runAsUser: 10001, seccompProfile: {{type: RuntimeDefault}}}}
  initContainers:
    - name: init
      image: busybox:1.36
      command: [sh, -c, "echo init"]
      securityContext: {{allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {{drop: [ALL]}}}}
  containers:
    - name: app
      image: ghcr.io/example/app:{i}.0.0
      ports: [{{name: http, containerPort: 8080}}]
      env: {{MODE: fast, INDEX: "{i}"}}
      envFrom: [{{configMapRef: {{name: app-{i}-config}}}}, {{secretRef: {{name: app-{i}-secret}}}}]
      livenessProbe: {{httpGet: {{path: /livez, port: http}}, periodSeconds: 10}}
      readinessProbe: {{httpGet: {{path: /readyz, port: http}}, periodSeconds: 5}}
      securityContext: {{allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {{drop: [ALL]}}}}
      volumeMounts: [{{name: logs, mountPath: /var/log/app}}]
      resources: {{requests: {{cpu: 10m, memory: 32Mi}}, limits: {{memory: 64Mi}}}}
    - name: log-tailer
      image: busybox:1.36
      args: [/bin/sh, -c, "tail -n+1 -F /var/log/app/app.log"]
      securityContext: {{allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {{drop: [ALL]}}}}
      volumeMounts: [{{name: logs, mountPath: /var/log/app, readOnly: true}}]
      resources: {{requests: {{cpu: 5m, memory: 16Mi}}, limits: {{memory: 32Mi}}}}
  volumes: [{{name: logs, emptyDir: {{}}}}]
  configMaps:
    app-{i}-config:
      data: {{{config}}}
  secrets:
    app-{i}-secret:
      stringData: {{token: not-a-real-secret-{i}, password: not-a-real-password-{i}}}
  service: {{ports: [{{name: http, port: 80, targetPort: http}}]}}
"""

PROJECT = """apiVersion: manifestkit.dev/v1alpha1
kind: Project
metadata: {name: bench}
spec:
  apps: [apps/*.yaml]
  kubernetesVersion: "1.30"
  environments:
    prod: {overlays: [overlays/prod.yaml]}
"""

OVERLAY = """apiVersion: manifestkit.dev/v1alpha1
kind: Overlay
metadata: {name: prod}
spec:
  namespace: bench-prod
  labels: {env: prod}
  replicas: 3
  images: [{name: busybox, newTag: "1.37"}]
"""


def config_data() -> dict[str, str]:
    return {f"KEY_{k}": f"value-{k}" for k in range(10)}


def secret_data(i: int) -> dict[str, str]:
    return {"password": f"not-a-real-password-{i}", "token": f"not-a-real-secret-{i}"}


def generate(root: Path, n: int) -> None:
    """The project of ``n`` apps under ``root``."""
    (root / "apps").mkdir(parents=True)
    (root / "overlays").mkdir()
    (root / "manifestkit.yaml").write_text(PROJECT)
    (root / "overlays" / "prod.yaml").write_text(OVERLAY)
    config = ", ".join(f"{k}: {v}" for k, v in config_data().items())
    for i in range(n):
        (root / "apps" / f"app-{i}.yaml").write_text(APP.format(i=i, config=config))


def app_file(root: Path, i: int) -> Path:
    return root / "apps" / f"app-{i}.yaml"


def touch_app(root: Path, i: int = 0) -> None:
    """Change one App (its config data), as a commit touching one service would."""
    path = app_file(root, i)
    path.write_text(path.read_text().replace("KEY_0: value-0,", "KEY_0: value-0-changed,"))


def restore_app(root: Path, i: int = 0) -> None:
    path = app_file(root, i)
    path.write_text(path.read_text().replace("KEY_0: value-0-changed,", "KEY_0: value-0,"))


def objects_key(obj: dict[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return str(obj.get("kind")), str(meta.get("namespace") or ""), str(meta.get("name"))
