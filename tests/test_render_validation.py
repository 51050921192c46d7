"""Rendered objects are checked against the Kubernetes schema before anything is written:
every error of every object, named by object and field path, exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from manifestkit.cli import main

APP = """apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: web}
spec:
  containers:
    - name: web
      image: nginx:1.25
      livenessProbe: {httpGet: {path: /, port: 80}, periodSecond: 5}
      resources: {requests: {cpu: [1]}}
"""
BASE = """apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: api
        image: api:1
        ports: [{containerPort: "http"}]
"""


def test_schema_errors_exit_1_with_every_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.yaml").write_text(APP)
    assert main(["render", "app.yaml", "-o", "out"]) == 1
    assert not (tmp_path / "out").exists()
    assert capsys.readouterr().err == (
        "app.yaml:8:53: error: spec.template.spec.containers[0].livenessProbe.periodSecond: Deployment/web: "
        "unknown field 'periodSecond'\n"
        "app.yaml:9:30: error: spec.template.spec.containers[0].resources.requests.cpu: Deployment/web: "
        "found a list [1]; expected string or number\n")


def test_schema_errors_in_a_base_manifest_point_into_it(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "api.yaml").write_text(BASE)
    (tmp_path / "app.yaml").write_text("apiVersion: manifestkit.dev/v1alpha1\nkind: App\nmetadata: {name: api}\n"
                                       "spec: {base: api.yaml}\n")
    assert main(["render", "app.yaml", "-o", "-"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ("api.yaml:12:18: error: spec.template.spec.containers[0].ports[0].containerPort: "
                            "Deployment/api: found a string \"http\"; expected integer\n")
