"""Overlays: every field an Overlay may set, `extends` chains and builtin:production."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from manifestkit import render

from ._fixtures import write_files

APP = """apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: web, namespace: base-ns}
spec:
  replicas: 1
  containers:
    - name: web
      image: registry.local:5000/team/web:1.0
      env: {A: "1"}
      resources: {requests: {cpu: 10m}}
    - name: helper
      image: busybox:1.36
  configMaps:
    web-config: {data: {MODE: fast, KEEP: "yes"}}
  service: {ports: [{name: http, port: 80}]}
"""
WORKER = """apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: worker, namespace: base-ns}
spec:
  workload: Job
  containers: [{name: worker, image: busybox:1.36}]
"""


def _project(tmp_path: Path, overlays: dict[str, str], env_overlays: list[str]) -> Path:
    files = {"apps/web.yaml": APP, "apps/worker.yaml": WORKER}
    for name, spec in overlays.items():
        files[f"overlays/{name}.yaml"] = (
            f"apiVersion: manifestkit.dev/v1alpha1\nkind: Overlay\nmetadata: {{name: {name}}}\nspec:\n{spec}")
    files["manifestkit.yaml"] = (
        "apiVersion: manifestkit.dev/v1alpha1\nkind: Project\nmetadata: {name: p}\nspec:\n  apps: [apps/*.yaml]\n"
        f"  environments:\n    env: {{overlays: {env_overlays}}}\n")
    return write_files(tmp_path, files)


def _objects(tmp_path: Path, overlays: dict[str, str], env_overlays: list[str] | None = None) -> dict[str, Any]:
    root = _project(tmp_path, overlays, env_overlays or [f"overlays/{n}.yaml" for n in overlays])
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in render(root, env="env", environ={})}


def _web(objs: dict[str, Any]) -> Any:
    return objs["Deployment/web"]["spec"]["template"]["spec"]


def test_namespace_and_labels_reach_every_object(tmp_path: Path) -> None:
    objs = _objects(tmp_path, {"o": "  namespace: prod\n  labels: {env: prod}\n"})
    for obj in objs.values():
        assert obj["metadata"]["namespace"] == "prod"
        assert obj["metadata"]["labels"]["env"] == "prod"
    assert objs["Deployment/web"]["spec"]["template"]["metadata"]["labels"]["env"] == "prod"
    assert "env" not in objs["Deployment/web"]["spec"]["selector"]["matchLabels"], (
        "selectors are immutable: never add to them"
    )


def test_replicas_only_for_replicated_workloads(tmp_path: Path) -> None:
    objs = _objects(tmp_path, {"o": "  replicas: 3\n"})
    assert objs["Deployment/web"]["spec"]["replicas"] == 3
    assert "replicas" not in objs["Job/worker"]["spec"]


def test_images_like_kustomize(tmp_path: Path) -> None:
    objs = _objects(tmp_path, {"o": "  images:\n    - {name: registry.local:5000/team/web, newTag: '2.0'}\n"
                                    "    - {name: busybox, newName: mirror.local/busybox}\n"})
    assert [c["image"] for c in _web(objs)["containers"]] == [
        "registry.local:5000/team/web:2.0",
        "mirror.local/busybox:1.36",
    ]


def test_env_and_resources_reach_every_container(tmp_path: Path) -> None:
    objs = _objects(tmp_path, {"o": "  env: {B: two}\n  resources: {limits: {memory: 64Mi}}\n"})
    web, helper = _web(objs)["containers"]
    assert web["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "two"}]
    assert web["resources"] == {"requests": {"cpu": "10m"}, "limits": {"memory": "64Mi"}}
    assert helper["env"] == [{"name": "B", "value": "two"}]


def test_configmaps_merge_by_name(tmp_path: Path) -> None:
    objs = _objects(tmp_path, {"o": "  configMaps: {web-config: {data: {MODE: safe, KEEP: null}}}\n"})
    assert objs["ConfigMap/web-config"]["data"] == {"MODE": "safe"}


def test_all_and_per_app_partial_specs(tmp_path: Path) -> None:
    objs = _objects(
        tmp_path,
        {
            "o": "  all: {podAnnotations: {team: shop}}\n"
            "  apps:\n    web:\n      replicas: 5\n      containers: [{name: helper, $patch: delete}]\n"
        },
    )
    assert objs["Deployment/web"]["spec"]["replicas"] == 5
    assert [c["name"] for c in _web(objs)["containers"]] == ["web"]
    assert objs["Job/worker"]["spec"]["template"]["metadata"]["annotations"] == {"team": "shop"}


def test_extends_chain_applies_parents_first(tmp_path: Path) -> None:
    objs = _objects(tmp_path, {"a": "  replicas: 2\n  labels: {tier: a}\n",
                               "b": "  extends: [a.yaml]\n  replicas: 3\n",
                               "c": "  extends: [b.yaml]\n  labels: {tier: c}\n"}, ["overlays/c.yaml"])
    assert objs["Deployment/web"]["spec"]["replicas"] == 3
    assert objs["Deployment/web"]["metadata"]["labels"]["tier"] == "c"


def test_builtin_production(tmp_path: Path) -> None:
    objs = _objects(tmp_path, {"prod": "  extends: ['builtin:production']\n"})
    pod = _web(objs)
    assert objs["Deployment/web"]["spec"]["replicas"] == 2
    assert pod["securityContext"]["runAsNonRoot"] is True
    for container in pod["containers"]:
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["resources"]["requests"] and container["resources"]["limits"]
    assert pod["containers"][0]["resources"]["requests"]["cpu"] == "10m", "what the App says wins over defaults"
    pdb = objs["PodDisruptionBudget/web"]
    assert pdb["spec"]["selector"] == objs["Deployment/web"]["spec"]["selector"]
    assert "PodDisruptionBudget/worker" not in objs


@pytest.mark.parametrize("spec", ["  podDisruptionBudget: null\n"])
def test_child_overlay_can_drop_the_pdb(tmp_path: Path, spec: str) -> None:
    objs = _objects(tmp_path, {"p": "  extends: ['builtin:production']\n" + spec})
    assert "PodDisruptionBudget/web" not in objs
