"""The build step: ConfigMaps from data, files and sandboxed templates; env as map or list;
Services, ServiceAccounts, and labels."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from manifestkit import ManifestkitError, render

HEAD = "apiVersion: manifestkit.dev/v1alpha1\nkind: App\nmetadata: {name: web}\nspec:\n"


def _render(tmp_path: Path, spec: str, files: dict[str, bytes] | None = None) -> dict[str, Any]:
    for rel, data in (files or {}).items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    (tmp_path / "app.yaml").write_text(HEAD + spec)
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in render(tmp_path / "app.yaml", environ={})}


def test_configmap_data_files_and_templates(tmp_path: Path) -> None:
    objs = _render(tmp_path, "  containers: [{name: web, image: nginx:1.25}]\n  values: {port: 8080}\n"
                             "  configMaps:\n    cfg:\n      data: {A: 1, B: true, C: '0755'}\n      files:\n"
                             "        plain.txt: files/plain.txt\n        logo.png: {file: files/logo.png}\n"
                             "        app.conf: {template: files/app.conf.j2}\n        inline: {content: hello}\n",
                   {"files/plain.txt": b"text\n", "files/logo.png": b"\x89PNG\x00\xff",
                    "files/app.conf.j2": b"listen {{ values.port }}; # {{ app.name }} in {{ env }}\n"})
    cm = objs["ConfigMap/cfg"]
    assert cm["data"] == {"A": "1", "B": "true", "C": "0755", "plain.txt": "text\n",
                          "app.conf": "listen 8080; # web in default\n", "inline": "hello"}
    assert base64.b64decode(cm["binaryData"]["logo.png"]) == b"\x89PNG\x00\xff"


def test_template_is_sandboxed(tmp_path: Path) -> None:
    with pytest.raises(ManifestkitError) as exc:
        _render(
            tmp_path,
            "  containers: [{name: web, image: nginx:1.25}]\n  configMaps:\n    cfg:\n      files:\n"
            "        x: {template: t.j2}\n",
            {"t.j2": b"{{ ''.__class__.__mro__[1].__subclasses__() }}\n"},
        )
    assert exc.value.diagnostics[0].message.startswith("template tried an unsafe operation")


def test_template_cannot_include_files_outside_the_project(tmp_path: Path) -> None:
    with pytest.raises(ManifestkitError) as exc:
        _render(tmp_path, "  containers: [{name: web, image: nginx:1.25}]\n  configMaps:\n    cfg:\n      files:\n"
                          "        x: {template: t.j2}\n", {"t.j2": b"{% include '../../../etc/passwd' %}\n"})
    assert exc.value.diagnostics[0].message.startswith(
        "template '../../../etc/passwd' not found under the project folder (used by ")


@pytest.mark.parametrize("env", ["{A: x, B: 2}", "[{name: A, value: x}, {name: B, value: '2'}]"])
def test_env_as_map_or_list(tmp_path: Path, env: str) -> None:
    objs = _render(tmp_path, f"  containers: [{{name: web, image: nginx:1.25, env: {env}}}]\n")
    container = objs["Deployment/web"]["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "A", "value": "x"}, {"name": "B", "value": "2"}]


def test_container_fields_pass_through_unchanged(tmp_path: Path) -> None:
    container = ("{name: web, image: nginx:1.25, command: [nginx], args: ['-g', 'daemon off;'], workingDir: /srv,"
                 " livenessProbe: {tcpSocket: {port: 80}, periodSeconds: 7}, securityContext: {runAsUser: 101},"
                 " lifecycle: {preStop: {exec: {command: [sleep, '5']}}}, stdin: true}")
    objs = _render(tmp_path, f"  containers: [{container}]\n")
    out = objs["Deployment/web"]["spec"]["template"]["spec"]["containers"][0]
    import yaml

    assert out == yaml.safe_load(container)


def test_labels_service_and_serviceaccount(tmp_path: Path) -> None:
    objs = _render(
        tmp_path,
        "  component: api\n  serviceAccount: true\n  containers: [{name: web, image: nginx:1.25}]\n"
        "  service: {type: NodePort, ports: [{port: 80, targetPort: 8080}]}\n",
    )
    deployment = objs["Deployment/web"]
    assert deployment["metadata"]["labels"] == {
        "app.kubernetes.io/name": "web", "app.kubernetes.io/instance": "web", "app.kubernetes.io/component": "api",
        "app.kubernetes.io/part-of": "web", "app.kubernetes.io/managed-by": "manifestkit"}
    assert objs["Service/web"]["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert objs["Service/web"]["spec"]["type"] == "NodePort"
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "web"
    assert objs["ServiceAccount/web"]["metadata"]["name"] == "web"
