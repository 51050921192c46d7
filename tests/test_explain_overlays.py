"""`manifestkit explain` where overlays reach furthest: an overlay that adds a pattern, `all:` and `defaults:` wildcard
containers (also on the pattern's own container), a JSON patch, Secret copies mirrored into other namespaces (named
``Secret/NAMESPACE/NAME``). Golden outputs, regenerated with --update-golden."""

from __future__ import annotations

from pathlib import Path

import pytest

from manifestkit.cli import main

GOLDEN = Path(__file__).parent / "golden" / "explain" / "overlays"

FILES = {
    "manifestkit.yaml": """apiVersion: manifestkit.dev/v1alpha1
kind: Project
metadata: {name: edge}
spec:
  apps: [apps/*.yaml]
  environments:
    prod: {overlays: [overlays/prod.yaml], namespaces: [team-a, team-b]}
""",
    "apps/web.yaml": """apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  containers:
    - name: web
      image: nginx:1.27
      ports: [{name: http, containerPort: 8080}]
      securityContext: {runAsNonRoot: true}
  secrets:
    registry:
      stringData: {token: not-a-real-token-1234}
      mirror: {namespaces: ["team-.+"]}
""",
    "overlays/prod.yaml": """apiVersion: manifestkit.dev/v1alpha1
kind: Overlay
metadata: {name: prod}
spec:
  all:
    podLabels: {team: shop}
  defaults:
    containers:
      - name: "*"
        resources: {limits: {cpu: "1"}}
  apps:
    web:
      patterns:
        - {use: sidecar/log-tailer, $patch: add, with: {path: /var/log/web, file: access.log}}
  patches:
    - target: {kind: Deployment, name: web}
      jsonPatch: [{op: replace, path: /spec/replicas, value: 5}]
""",
}

CASES: dict[str, str] = {
    "objects": "",
    "json-patch": "spec.replicas",
    "all-pod-label": "spec.template.metadata.labels.team",
    "defaults-wildcard": "spec.template.spec.containers[web].resources.limits.cpu",
    "defaults-on-a-pattern-container": "spec.template.spec.containers[log-tailer].resources.limits.cpu",
    "pattern-added-by-the-overlay": "spec.template.spec.containers[log-tailer].image",
    "boolean-in-the-app": "spec.template.spec.containers[web].securityContext.runAsNonRoot",
    "mirrored-copy": "Secret/team-a/registry.data.token",
    "mirrored-copy-namespace": "Secret/team-b/registry.metadata.namespace",
}


@pytest.fixture
def edge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for rel, text in FILES.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("name", sorted(CASES))
def test_overlays_to_golden(name: str, edge: Path, capsys: pytest.CaptureFixture[str], update_golden: bool) -> None:
    assert main(["explain", "web", *([CASES[name]] if CASES[name] else []), "--env", "prod"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "not-a-real-token-1234" not in captured.out
    golden = GOLDEN / f"{name}.txt"
    if update_golden:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(captured.out, encoding="utf-8")
    assert captured.out == golden.read_text(encoding="utf-8")


def test_a_name_in_several_namespaces_needs_its_namespace(edge: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "web", "Secret/registry.data", "--env", "prod"]) == 2
    assert capsys.readouterr().err == (
        "manifestkit: error: app 'web' has Secret/registry in 3 namespaces (shop, team-a, team-b); "
        "name one: Secret/NAMESPACE/registry\n")
