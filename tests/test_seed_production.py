"""Issue 14: ``builtin:production`` reaches the containers patterns add (``sidecar/log-tailer``, the Vault agents),
not only the App's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from manifestkit.loader import load_project
from manifestkit.model import Options
from manifestkit.pipeline import render_env

from ._fixtures import WEB_APP_HEAD, write_files

PROJECT = """\
apiVersion: manifestkit.dev/v1alpha1
kind: Project
metadata: {name: shop}
spec:
  apps: [apps/*.yaml]
  environments:
    prod: {overlays: [overlays/prod.yaml]}
"""
PROD = """\
apiVersion: manifestkit.dev/v1alpha1
kind: Overlay
metadata: {name: prod}
spec:
  extends: ['builtin:production']
"""
WEB = WEB_APP_HEAD + """\
      resources: {requests: {cpu: 10m}}
  patterns:
    - use: sidecar/log-tailer
      with: {path: /var/log/web, file: access.log}
"""


def pod(tmp_path: Path) -> Any:
    write_files(tmp_path, {"manifestkit.yaml": PROJECT, "overlays/prod.yaml": PROD, "apps/web.yaml": WEB})
    deployment = next(r for r in render_env(load_project(tmp_path), "prod", Options()) if r.kind == "Deployment")
    return deployment.obj["spec"]["template"]["spec"]


def test_production_reaches_pattern_containers(tmp_path: Path) -> None:
    spec = pod(tmp_path)
    names = [c["name"] for c in spec["containers"]]
    assert len(names) == 2
    for container in spec["containers"]:
        context = container["securityContext"]
        assert (context["readOnlyRootFilesystem"], context["allowPrivilegeEscalation"]) == (True, False), container[
            "name"
        ]
        assert context["capabilities"]["drop"] == ["ALL"]
        assert container["resources"]["limits"] == {"memory": "256Mi"}
    assert spec["containers"][0]["resources"]["requests"]["cpu"] == "10m"     # the App's own value still wins
    assert spec["containers"][1]["resources"]["requests"] == {"cpu": "100m", "memory": "128Mi"}
