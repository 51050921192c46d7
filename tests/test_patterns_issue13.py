"""Issue 13, points 1-7: patterns and inject on manifests written by others (snippets from tests/corpus/)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from manifestkit.checksums import ANNOTATION
from manifestkit.cli import main
from manifestkit.kinds import pod_template
from manifestkit.validation import validate_paths
from manifestkit.validation_checks import Options
from manifestkit.yamlio import load_documents
from tests._fixtures import run_cli
from tests.test_patterns import render

CORPUS = Path(__file__).resolve().parent / "corpus"


def inject(capsys: pytest.CaptureFixture[str], path: Path, *argv: str) -> tuple[int, list[Any], str]:
    code, out, err = run_cli(["inject", *argv, str(path)], capsys)
    return code, [d.data for d in load_documents(out, "out")] if code == 0 else [], err


def write(tmp_path: Path, text: str, name: str = "in.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def spec_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    pod = pod_template(obj)
    assert pod is not None
    spec: Mapping[str, Any] = pod["spec"]
    return spec


# ---------------------------------------------------------------- 1. StatefulSets with volumeClaimTemplates


def test_inject_into_a_statefulset_with_claim_templates(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = inject(capsys, CORPUS / "generated" / "statefulset-000.yaml", "-p", "sidecar/envoy")
    assert (code, err) == (0, "")
    assert [c["name"] for c in spec_of(out[0])["containers"]] == ["db-0", "envoy"]


RENDER_PROJECT = """apiVersion: manifestkit.dev/v1alpha1
kind: Project
metadata: {name: shop}
spec:
  apps: [apps/*.yaml]
"""
STATEFUL_APP = """apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: db}
spec:
  workload: StatefulSet
  containers:
    - name: db
      image: redis:7.2
      ports: [{name: redis, containerPort: 6379}]
      volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
    - metadata: {name: data}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
  patterns: [{use: sidecar/redis-cache, with: {port: 6380}}]
"""


def test_render_a_statefulset_app_with_a_pattern(tmp_path: Path) -> None:
    (tmp_path / "apps").mkdir()
    write(tmp_path, RENDER_PROJECT, "manifestkit.yaml")
    write(tmp_path / "apps", STATEFUL_APP, "db.yaml")
    sts = next(r.obj for r in render(tmp_path) if r.kind == "StatefulSet")
    assert [c["name"] for c in spec_of(sts)["containers"]] == ["db", "redis-cache"]


# ---------------------------------------------------------------- 2. a non-integer containerPort


def test_a_quoted_container_port_is_a_located_error(capsys: pytest.CaptureFixture[str]) -> None:
    path = CORPUS / "generated" / "string-port-000.yaml"
    code, _, err = inject(capsys, path, "-p", "sidecar/envoy")
    assert code == 2
    assert err == (f"{path}:4:3: error: Deployment/web-1000: sidecar/envoy: container 'web-1000' declares "
                   "containers[].ports[0].containerPort '8080'; expected an integer port number\n")


# ---------------------------------------------------------------- 3. pods that run to completion


@pytest.mark.parametrize("file", ["job-000.yaml", "cronjob-000.yaml", "test-pod-000.yaml"])
def test_sidecar_in_a_pod_that_completes_is_native(capsys: pytest.CaptureFixture[str], file: str) -> None:
    code, out, err = inject(capsys, CORPUS / "generated" / file, "-p", "sidecar/redis-cache")
    assert (code, err) == (0, "")
    spec = spec_of(out[0])
    assert len(spec["containers"]) == 1
    assert [(c["name"], c["restartPolicy"]) for c in spec["initContainers"]] == [("redis-cache", "Always")]


def test_sidecar_in_a_job_before_1_29_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    path = CORPUS / "generated" / "job-000.yaml"
    code, _, err = inject(capsys, path, "-k", "1.28", "-p", "sidecar/redis-cache")
    assert code == 2
    assert err == (f"{path}:4:3: error: Job/batch-0: sidecar/redis-cache adds a long-running container to pods that "
                   "run to completion, which would then never complete; native sidecars, which stop with the app, need "
                   "Kubernetes 1.29 or newer and the target is 1.28\n"
                   "  hint: target Kubernetes 1.29 or newer (-k 1.29, spec.kubernetesVersion)\n")


def test_envoy_declares_no_admin_port(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = inject(capsys, CORPUS / "microservices-demo" / "adservice.yaml", "-p", "sidecar/envoy")
    assert code == 0
    envoy = next(c for o in out if pod_template(o) for c in spec_of(o)["containers"] if c["name"] == "envoy")
    assert envoy["ports"] == [{"name": "envoy-inbound", "containerPort": 15001}]


# ---------------------------------------------------------------- 4. an app that declares no port


def test_envoy_asks_for_the_port_of_an_app_without_one(capsys: pytest.CaptureFixture[str]) -> None:
    path = CORPUS / "generated" / "echo-pod-000.yaml"
    code, _, err = inject(capsys, path, "-p", "sidecar/envoy")
    assert code == 2
    assert err == (f"{path}:4:3: error: Pod/echo-0: sidecar/envoy: container 'echo-0' declares no port, so Envoy has "
                   "nowhere to route inbound traffic\n"
                   "  hint: pass the port the app listens on: with: {upstreamPort: 5678} "
                   "(inject: -p sidecar/envoy=upstreamPort=5678)\n")
    code, out, err = inject(capsys, path, "-p", "sidecar/envoy=upstreamPort=5678")
    assert (code, err) == (0, "")
    config = out[1]["data"]["envoy.yaml"]
    assert "port_value: 15001" in config and "port_value: 5678" in config


# ---------------------------------------------------------------- 5. tls-proxy and the Service


WEB = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [%s]
"""
def yaml_ports(text: str) -> Any:
    return load_documents(text, "ports")[0].data


TLS = "ambassador/tls-proxy=port=8443,upstreamPort=8080,certSecret=web-tls,servicePort=443"


@pytest.mark.parametrize(
    "ports",
    [
        "{name: https, port: 443, targetPort: 8443}",
        "{name: https, port: 443, targetPort: https}",
        "{port: 8443, targetPort: 8443}",
    ],
)  # the last: seed 002's own Service shape
def test_tls_proxy_reuses_a_service_port_aimed_at_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ports: str
) -> None:
    code, out, err = inject(capsys, write(tmp_path, WEB % ports), "-p", TLS)
    assert (code, err) == (0, "")
    service = next(o for o in out if o["kind"] == "Service")
    assert service["spec"]["ports"] == [yaml_ports(ports)]


def test_a_port_hidden_behind_the_proxy_is_still_taken(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, WEB % "{name: http, port: 80, targetPort: http}")
    code, _, err = inject(capsys, path, "-p", TLS, "-p", "sidecar/redis-cache=port=8080")
    assert code == 2
    assert err == (f"{path}:3:12: error: Deployment/web: sidecar/redis-cache: container 'redis-cache' listens on port "
                   "8080/TCP, which container 'web' already uses (containers of a pod share one network namespace)\n")


# ---------------------------------------------------------------- 6. the mount a pattern needs, declared already


def test_an_identical_mount_is_not_a_conflict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - name: web\n    image: nginx:1.27\n"
        "    volumeMounts: [{name: logs, mountPath: /var/log/web}]\n  volumes: [{name: logs, emptyDir: {}}]\n"
    )
    code, out, err = inject(capsys, write(tmp_path, text), "-p", "sidecar/log-tailer=path=/var/log/web,file=web.log")
    assert (code, err) == (0, "")
    assert out[0]["spec"]["containers"][0]["volumeMounts"] == [{"name": "logs", "mountPath": "/var/log/web"}]


# ---------------------------------------------------------------- 7. the config reloader and the checksum


RELOADED_APP = """apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: prom}
spec:
  containers:
    - name: prometheus
      image: prom/prometheus:v2.54.1
      ports: [{name: web, containerPort: 9090}]
      volumeMounts: [{name: config, mountPath: /etc/prometheus}]
      envFrom: [{configMapRef: {name: prom-env}}]
  volumes:
    - {name: config, configMap: {name: prom-config}}
  configMaps:
    prom-config: {data: {prometheus.yml: "scrape_configs: []"}}
    prom-env: {data: {LEVEL: info}}
  patterns:
    - use: sidecar/config-reloader
      with: {volume: config, webhookUrl: "http://127.0.0.1:9090/-/reload"}
"""


def _checksum(root: Path, config: str) -> str:
    write(root / "apps", RELOADED_APP.replace("scrape_configs: []", config), "prom.yaml")
    deployment = next(r.obj for r in render(root) if r.kind == "Deployment")
    pod = pod_template(deployment)
    assert pod is not None
    return str(pod["metadata"]["annotations"][ANNOTATION])


def test_watched_configmap_is_left_out_of_the_checksum(tmp_path: Path) -> None:
    (tmp_path / "apps").mkdir()
    write(tmp_path, RENDER_PROJECT, "manifestkit.yaml")
    first = _checksum(tmp_path, "scrape_configs: []")
    assert _checksum(tmp_path, "scrape_configs: [{job_name: x}]") == first   # the reloader applies it live
    write(tmp_path / "apps", RELOADED_APP.replace("LEVEL: info", "LEVEL: debug"), "prom.yaml")
    deployment = next(r.obj for r in render(tmp_path) if r.kind == "Deployment")
    assert pod_template(deployment)["metadata"]["annotations"][ANNOTATION] != first  # type: ignore[index]


# ---------------------------------------------------------------- after inject, validate finds nothing new


def test_inject_output_passes_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = CORPUS / "generated" / "statefulset-000.yaml"
    code = main(["inject", "-p", "sidecar/envoy", str(source), "-o", str(tmp_path / "out.yaml")])
    assert code == 0
    errors = [d for d in validate_paths([str(tmp_path / "out.yaml")], Options()).findings if d.severity == "error"]
    assert errors == []


def test_a_placeholder_container_port_is_a_located_error(capsys: pytest.CaptureFixture[str]) -> None:
    path = CORPUS / "generated" / "string-port-001.yaml"
    code, _, err = inject(capsys, path, "-p", "sidecar/envoy")
    assert code == 2
    assert err == (f"{path}:4:3: error: Deployment/web-1001: sidecar/envoy: container 'web-1001' declares "
                   "containers[].ports[0].containerPort '${PORT}'; expected an integer port number\n")
