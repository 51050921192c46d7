"""`base:` on real manifests (Google's microservices-demo): containers kept exactly, the
other objects kept, every output valid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from manifestkit import render
from manifestkit.kinds import pod_template
from manifestkit.schema_errors import check_object

from .conftest import EXAMPLES, corpora


def _objects(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_microservices_demo_keeps_containers_and_objects() -> None:
    originals = corpora("microservices-demo", "kubernetes-manifests")
    rendered = render(EXAMPLES / "microservices-demo")
    by_key = {(o["kind"], o["metadata"]["name"]): o for o in rendered}
    expected: list[dict[str, Any]] = []
    for path in sorted(originals.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            expected.extend(_objects(path))
    assert len(rendered) == len(expected)
    for original in expected:
        out = by_key[(original["kind"], original["metadata"]["name"])]
        assert out == original, f"{original['kind']}/{original['metadata']['name']} changed"
        template = pod_template(original)
        if template is not None:
            assert pod_template(out)["spec"]["containers"] == template["spec"]["containers"]  # type: ignore[index]
    for obj in rendered:
        assert check_object(obj, "1.30", strict=True) == [], obj["metadata"]["name"]


def test_base_with_changes(tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 1\n"
        "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
        "    spec:\n      containers:\n      - {name: web, image: nginx:1.24, ports: [{containerPort: 80}]}\n"
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n"
    )
    (tmp_path / "app.yaml").write_text(
        "apiVersion: manifestkit.dev/v1alpha1\nkind: App\nmetadata: {name: web, namespace: shop}\nspec:\n"
        "  base: web.yaml\n  replicas: 3\n  containers: [{name: web, image: nginx:1.25, env: {A: b}}]\n")
    objs = {o["kind"]: o for o in render(tmp_path / "app.yaml")}
    deployment = objs["Deployment"]
    assert deployment["spec"]["replicas"] == 3
    assert deployment["metadata"]["namespace"] == "shop"
    assert objs["Service"]["metadata"]["namespace"] == "shop"
    assert deployment["spec"]["template"]["spec"]["containers"] == [
        {"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80}], "env": [{"name": "A", "value": "b"}]}]


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"])
def test_every_workload_kind_renders_valid(kind: str, tmp_path: Path) -> None:
    extra = {
        "CronJob": "  schedule: '*/5 * * * *'\n",
        "StatefulSet": "  volumeClaimTemplates: [{metadata: {name: data}, "
        "spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}}]\n",
        "DaemonSet": "  tolerations: "
                     "[{key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}]\n",
    }
    (tmp_path / "app.yaml").write_text(
        "apiVersion: manifestkit.dev/v1alpha1\nkind: App\nmetadata: {name: w}\nspec:\n"
        f"  workload: {kind}\n" + extra.get(kind, "") +
        "  containers: [{name: w, image: busybox:1.36, command: [sleep, '1']}]\n  service: {ports: [{port: 80}]}\n")
    objects = render(tmp_path / "app.yaml")
    workload = next(o for o in objects if o["kind"] == kind)
    template = pod_template(workload)
    assert template is not None
    labels = template["metadata"]["labels"]
    service = next(o for o in objects if o["kind"] == "Service")
    assert all(labels[k] == v for k, v in service["spec"]["selector"].items()), "the Service selects the pods"
    if kind not in ("Job", "CronJob"):
        assert all(labels[k] == v for k, v in workload["spec"]["selector"]["matchLabels"].items())
    for obj in objects:
        assert check_object(obj, "1.30", strict=True) == []
