"""Whole apps (issue 10): any object in an App (`objects:`) or a Project (`resources:`), apps without a workload,
first-class Ingress/HPA/NetworkPolicy/Services/RBAC, overlay patches by kind and name, overlays that cannot
silently miss, and custom resources checked against their schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from manifestkit.cli import main
from manifestkit.diagnostics import ManifestkitError
from manifestkit.loader import load_project
from manifestkit.model import Options
from manifestkit.pipeline import render_env

from ._fixtures import crd, write_files

HEAD = "apiVersion: manifestkit.dev/v1alpha1\n"
PROJECT = HEAD + ("kind: Project\nmetadata: {name: p}\nspec:\n  apps: [apps/*.yaml]\n"
                  "  environments:\n    dev: {overlays: [overlays/dev.yaml]}\n")
WEB = HEAD + ("kind: App\nmetadata: {name: web, namespace: shop}\nspec:\n"
              "  containers: [{name: web, image: nginx:1.27, ports: [{name: http, containerPort: 8080}]}]\n"
              "  service: {ports: [{name: http, port: 80, targetPort: http}]}\n"
              "  configMaps: {web-config: {data: {MODE: normal}}}\n")
OVERLAY = HEAD + "kind: Overlay\nmetadata: {name: dev}\nspec:\n"
CERT = ("apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: web-tls}\n"
        "spec: {secretName: web-tls, issuerRef: {name: le}}\n")
CRD = crd(group="cert-manager.io", kind="Certificate", plural="certificates", spec={
    "type": "object", "required": ["secretName"],
    "properties": {"secretName": {"type": "string"},
                   "issuerRef": {"type": "object", "properties": {"name": {"type": "string"}}}},
})


def objects(
    root: Path, files: dict[str, str], env: str | None = "dev", target: str = "", **options: Any
) -> dict[tuple[str, str], Any]:
    project = load_project(write_files(root, files) / target)
    return {(r.kind, r.name): dict(r.obj) for r in render_env(project, env, Options(**options))}


def project(overlay: str = "", web: str = WEB, **more: str) -> dict[str, str]:
    return {
        "manifestkit.yaml": PROJECT,
        "apps/web.yaml": web,
        "overlays/dev.yaml": OVERLAY + (overlay or "  labels: {env: dev}\n"),
        **more,
    }


def test_app_objects_inline_and_from_files_get_the_apps_namespace_and_labels(tmp_path: Path) -> None:
    web = WEB + ("  objects:\n    - k8s/*.yaml\n    - apiVersion: v1\n      kind: PersistentVolumeClaim\n"
                 "      metadata: {name: cache, labels: {tier: cache}}\n"
                 "      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n")
    got = objects(tmp_path, project(web=web, **{"apps/k8s/role.yaml": "apiVersion: rbac.authorization.k8s.io/v1\n"
                                                "kind: ClusterRole\nmetadata: {name: reader}\nrules: []\n"}))
    pvc = got[("PersistentVolumeClaim", "cache")]["metadata"]
    assert pvc["namespace"] == "shop"
    assert pvc["labels"]["tier"] == "cache" and pvc["labels"]["app.kubernetes.io/name"] == "web"
    assert pvc["labels"]["env"] == "dev"
    assert "namespace" not in got[("ClusterRole", "reader")]["metadata"]   # cluster-scoped


def test_project_resources_belong_to_no_app(tmp_path: Path) -> None:
    files = project(**{"cluster/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"})
    files["manifestkit.yaml"] = PROJECT.replace("  environments:", "  resources: [cluster/*.yaml]\n  environments:")
    root = write_files(tmp_path, files)
    resources = render_env(load_project(root), "dev")
    ns = next(r for r in resources if r.kind == "Namespace")
    assert ns.app is None and "namespace" not in ns.obj["metadata"]
    assert ns.obj["metadata"]["labels"] == {
        "app.kubernetes.io/part-of": "p",
        "app.kubernetes.io/managed-by": "manifestkit",
        "env": "dev",
    }


def test_an_app_without_containers_has_no_workload(tmp_path: Path) -> None:
    config = HEAD + "kind: App\nmetadata: {name: config}\nspec:\n  configMaps: {shared: {data: {A: b}}}\n"
    got = objects(tmp_path, project(**{"apps/config.yaml": config}))
    assert ("ConfigMap", "shared") in got and ("Deployment", "config") not in got


def test_first_class_fields_point_at_the_apps_service_and_pods(tmp_path: Path) -> None:
    web = WEB + (
        "  ingress: {className: nginx, hosts: [a.example.com], tls: {secretName: a-tls}}\n"
        "  autoscaling: {minReplicas: 2, maxReplicas: 5, cpu: 70}\n"
        "  networkPolicy: {from: [{podSelector: {matchLabels: {role: fe}}}]}\n"
        "  services: [{name: web-lb, type: LoadBalancer, loadBalancerIP: 10.0.0.5, externalTrafficPolicy: Local,"
        " ports: [{port: 80, targetPort: http}]}]\n"
        "  serviceAccount: {rules: [{apiGroups: [''], resources: [pods], verbs: [get]}]}\n"
    )
    got = objects(tmp_path, project(web=web))
    ingress = got[("Ingress", "web")]["spec"]
    assert ingress["tls"] == [{"hosts": ["a.example.com"], "secretName": "a-tls"}]
    assert ingress["rules"][0]["http"]["paths"] == [{"path": "/", "pathType": "Prefix",
                                                     "backend": {"service": {"name": "web", "port": {"name": "http"}}}}]
    assert "replicas" not in got[("Deployment", "web")]["spec"]
    assert got[("HorizontalPodAutoscaler", "web")]["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "web",
    }
    policy = got[("NetworkPolicy", "web")]["spec"]
    assert policy["ingress"] == [{"from": [{"podSelector": {"matchLabels": {"role": "fe"}}}],
                                  "ports": [{"port": 8080, "protocol": "TCP"}]}]
    lb = got[("Service", "web-lb")]["spec"]
    assert (lb["loadBalancerIP"], lb["externalTrafficPolicy"]) == ("10.0.0.5", "Local")
    assert got[("RoleBinding", "web")]["subjects"] == [{"kind": "ServiceAccount", "name": "web", "namespace": "shop"}]
    assert got[("Deployment", "web")]["spec"]["template"]["spec"]["serviceAccountName"] == "web"


def test_a_base_apps_service_account_runs_its_pods(tmp_path: Path) -> None:
    app = HEAD + "kind: App\nmetadata: {name: echo}\nspec:\n  base: echo.yaml\n  serviceAccount: true\n"
    base = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: echo}\nspec:\n  selector: {matchLabels: {a: b}}\n"
            "  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: echo, image: x:1}]}\n")
    got = objects(tmp_path, {"app.yaml": app, "echo.yaml": base}, env=None, target="app.yaml")
    assert got[("Deployment", "echo")]["spec"]["template"]["spec"]["serviceAccountName"] == "echo"


def test_overlay_patches_merge_and_json_patch_by_kind_and_name(tmp_path: Path) -> None:
    overlay = ("  patches:\n    - target: {kind: Service, name: web}\n      merge: {spec: {type: NodePort}}\n"
               "    - target: {kind: ConfigMap, name: web-config, app: web}\n"
               "      jsonPatch: [{op: add, path: /data/EXTRA, value: '1'}, {op: remove, path: /data/MODE}]\n")
    got = objects(tmp_path, project(overlay))
    assert got[("Service", "web")]["spec"]["type"] == "NodePort"
    assert got[("ConfigMap", "web-config")]["data"] == {"EXTRA": "1"}


@pytest.mark.parametrize("entry", [
    "  apps:\n    web:\n      containers: [{name: debug, image: busybox:1.36}]\n",
    "  apps:\n    web:\n      configMaps: {extra: {$patch: add, data: {A: b}}}\n",
])
def test_an_overlay_entry_that_says_it_adds_is_not_a_miss(entry: str, tmp_path: Path) -> None:
    got = objects(tmp_path, project(entry))
    assert ("ConfigMap", "extra") in got or len(
        got[("Deployment", "web")]["spec"]["template"]["spec"]["containers"]
    ) == 2
    assert "$patch" not in str(got)


def test_all_stays_a_wildcard(tmp_path: Path) -> None:
    config = HEAD + "kind: App\nmetadata: {name: config}\nspec:\n  configMaps: {shared: {data: {A: b}}}\n"
    got = objects(
        tmp_path, project("  all:\n    containers: [{name: '*', env: {A: b}}]\n", **{"apps/config.yaml": config})
    )
    assert got[("Deployment", "web")]["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "A", "value": "b"}
    ]


def test_custom_resources_validate_against_project_schemas_and_schemas_flag(tmp_path: Path) -> None:
    web = WEB + "  objects: [k8s/cert.yaml]\n"
    files = project(web=web, **{"apps/k8s/cert.yaml": CERT.replace("secretName: web-tls, ", ""), "crds/cert.yaml": CRD})
    with pytest.raises(ManifestkitError, match=r"no schema for cert-manager\.io/v1/Certificate"):
        objects(tmp_path / "a", files)
    objects(tmp_path / "b", files, skip_kinds=("Certificate",))
    root = write_files(tmp_path / "c", files)
    assert main(["render", str(root), "-o", "-", "--schemas", str(root / "crds")]) == 1   # missing secretName
    files["manifestkit.yaml"] = PROJECT.replace("  environments:", "  schemas: [crds]\n  environments:")
    files["apps/k8s/cert.yaml"] = CERT
    assert ("Certificate", "web-tls") in objects(tmp_path / "d", files)


def test_a_crd_the_project_renders_is_the_schema_of_its_objects(tmp_path: Path) -> None:
    web = WEB + "  objects: [k8s/cert.yaml, k8s/crd.yaml]\n"
    got = objects(tmp_path, project(web=web, **{"apps/k8s/cert.yaml": CERT, "apps/k8s/crd.yaml": CRD}))
    assert ("Certificate", "web-tls") in got
