"""The secrets step: where refs may be, env refs → secretKeyRef, mirroring, version metadata,
and the SOPS example rendering with no server and no environment variables."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from manifestkit.cli import main
from manifestkit.loader import load_project
from manifestkit.model import Options
from manifestkit.pipeline import render_env

from ._fixtures import WEB_APP_HEAD, decoded, write_files
from .conftest import EXAMPLES

PROJECT = """\
apiVersion: manifestkit.dev/v1alpha1
kind: Project
metadata: {name: demo}
spec:
  apps: [apps/*.yaml]
  namespaces: [team-a-1, team-b-2, other]
  environments:
    dev: {overlays: [], namespaces: [team-a-dev]}
  secrets: {env: {allow: [DB_PASSWORD, API_KEY, DSN, DOCKERCONFIG, TOKEN]}}
"""


def project(tmp_path: Path, apps: dict[str, str], manifest: str = PROJECT, files: dict[str, str] | None = None) -> Path:
    texts = {f"apps/{name}": text for name, text in apps.items()} | (files or {})
    dedented = {rel: textwrap.dedent(text) for rel, text in texts.items()}
    return write_files(tmp_path, {"manifestkit.yaml": manifest, **dedented})


def render(root: Path, environ: dict[str, str], **options: Any) -> list[dict[str, Any]]:
    resources = render_env(load_project(root), "dev", Options(environ=environ, **options))
    return [dict(r.obj) for r in resources]


def by_ref(objs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f"{o['kind']}/{o['metadata'].get('namespace', '')}/{o['metadata']['name']}": o for o in objs}


WEB = WEB_APP_HEAD + """\
      env:
        LOG_LEVEL: info
        DB_PASSWORD: ref+env://DB_PASSWORD
        DB_URL: postgres://web:ref+env://DB_PASSWORD+@db:5432/shop
  secrets:
    web-secret:
      stringData: {api-key: ref+env://API_KEY, plain: not-a-ref}
"""

# The web App with one container and nothing else, which the ref and mirror tests give one more field.
SMALL_WEB = """\
apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: web, namespace: shop}
spec:
  containers: [{name: web, image: nginx:1.25}]
"""


def test_env_refs_become_secret_key_refs(tmp_path: Path) -> None:
    root = project(tmp_path, {"web.yaml": WEB})
    objs = by_ref(render(root, {"DB_PASSWORD": "pw-6f1c", "API_KEY": "key-93ab"}))
    container = objs["Deployment/shop/web"]["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "web-env", "key": "DB_PASSWORD"}}},
        {"name": "DB_URL", "valueFrom": {"secretKeyRef": {"name": "web-env", "key": "DB_URL"}}},
    ]
    assert decoded(objs["Secret/shop/web-env"]) == {"DB_PASSWORD": "pw-6f1c", "DB_URL": "postgres://web:pw-6f1c@db:5432/shop"}
    assert decoded(objs["Secret/shop/web-secret"]) == {"api-key": "key-93ab", "plain": "not-a-ref"}
    assert "stringData" not in objs["Secret/shop/web-secret"]
    others = yaml.safe_dump([o for k, o in objs.items() if not k.startswith("Secret/")])
    assert "pw-6f1c" not in others and "key-93ab" not in others


def test_env_refs_in_base_manifests(tmp_path: Path) -> None:
    base = """\
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: legacy}
    spec:
      selector: {matchLabels: {app: legacy}}
      template:
        metadata: {labels: {app: legacy}}
        spec:
          containers:
            - name: legacy
              image: busybox:1.36
              env:
                - {name: TOKEN, value: "<path:secret/data/legacy#token>"}
    """
    app = """\
    apiVersion: manifestkit.dev/v1alpha1
    kind: App
    metadata: {name: legacy, namespace: shop}
    spec:
      base: ../manifests/legacy.yaml
    """
    root = project(tmp_path, {"legacy.yaml": app}, files={"manifests/legacy.yaml": base})
    objs = by_ref(render(root, {}, secret_output="reference"))
    env = objs["Deployment/shop/legacy"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "legacy-env", "key": "TOKEN"}}}]
    secret = objs["Secret/shop/legacy-env"]
    assert secret["stringData"] == {"TOKEN": "<token>"}
    assert secret["metadata"]["annotations"] == {"avp.kubernetes.io/path": "secret/data/legacy"}


@pytest.mark.parametrize(("where", "expected"), [
    ("configMaps: {web-config: {data: {DSN: 'ref+env://DSN'}}}",
     "apps/web.yaml:3: error: ConfigMap/shop/web-config: data.DSN holds a secret reference, but a ConfigMap is not "
     "secret\n  hint: move the value into the App's `secrets:` and mount or reference that Secret"),
    ("podAnnotations: {token: 'ref+env://DSN'}",
     "apps/web.yaml:3: error: Deployment/shop/web: pod template annotations 'token' holds a secret reference, but "
     "annotations are not secret\n  hint: move the value into the App's `secrets:`"),
    ("annotations: {token: '<path:secret/data/web#token>'}",
     "apps/web.yaml:3: error: Deployment/shop/web: metadata.annotations 'token' holds a secret reference, but "
     "annotations are not secret\n  hint: move the value into the App's `secrets:`"),
])
def test_refs_outside_secrets_are_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch, where: str, expected: str) -> None:
    app = SMALL_WEB + f"  {where}\n"
    root = project(tmp_path, {"web.yaml": app})
    monkeypatch.chdir(root)
    monkeypatch.setenv("DSN", "dsn-secret-value")
    assert main(["render", ".", "--env", "dev", "-o", "-"]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == expected
    assert "dsn-secret-value" not in captured.out + captured.err


def test_mirror_copies_into_matching_namespaces(tmp_path: Path) -> None:
    app = SMALL_WEB + """\
  secrets:
    registry:
      type: kubernetes.io/dockerconfigjson
      stringData: {.dockerconfigjson: ref+env://DOCKERCONFIG}
      mirror: {namespaces: ["team-a-.+", "team-b-.+", "shop"]}
"""
    root = project(tmp_path, {"web.yaml": app})
    objs = by_ref(render(root, {"DOCKERCONFIG": "{}"}))
    mirrored = sorted(k for k in objs if k.startswith("Secret/"))
    assert mirrored == ["Secret/shop/registry", "Secret/team-a-1/registry", "Secret/team-a-dev/registry",
                        "Secret/team-b-2/registry"]
    assert all(decoded(objs[k]) == {".dockerconfigjson": "{}"} for k in mirrored)


def test_bad_mirror_regex(tmp_path: Path) -> None:
    app = SMALL_WEB + """\
  secrets:
    s: {stringData: {a: b}, mirror: {namespaces: ["team-("]}}
"""
    root = project(tmp_path, {"web.yaml": app})
    from manifestkit.diagnostics import ManifestkitError

    with pytest.raises(ManifestkitError) as caught:
        render(root, {})
    assert [d.message for d in caught.value.diagnostics] == [
        "Secret/shop/s: mirror.namespaces[0]: 'team-(' is not a regular expression "
        "(missing ), unterminated subpattern at position 5)"]


def test_secret_version_from_versioned_refs_only(tmp_path: Path) -> None:
    """sops refs carry the file's MAC as version; env refs carry none, so no version is set
    and the checksum step falls back to its keyed HMAC."""
    src = EXAMPLES / "sops"
    resources = render_env(load_project(src), None, Options(environ={}), steps=_until_secrets())
    versions = {r.name: r.secret_version for r in resources if r.kind == "Secret"}
    assert versions["api-keys"] is not None and versions["api-keys"].startswith("sha256:")
    assert versions["api-env"] is not None
    root = project(tmp_path, {"web.yaml": WEB})
    resources = render_env(load_project(root), "dev", Options(environ={"DB_PASSWORD": "x", "API_KEY": "y"}),
                           steps=_until_secrets())
    assert {r.name: r.secret_version for r in resources if r.kind == "Secret"} == \
        {"web-env": None, "web-secret": None}


def _until_secrets() -> tuple[Any, ...]:
    from manifestkit.pipeline import STEPS
    from manifestkit.secrets.step import resolve_secrets

    return STEPS[:STEPS.index(resolve_secrets) + 1]


def test_secret_version_changes_with_vault_version() -> None:
    from manifestkit.secrets.mode_secret import version_token

    assert version_token(["k:ref+vault://a#/b", "ref+vault://a#/b=3"]) != \
        version_token(["k:ref+vault://a#/b", "ref+vault://a#/b=4"])


def test_sops_example_renders_without_server_or_env(capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE", "VAULT_ADDR", "VAULT_TOKEN", "GNUPGHOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)     # ageKeyFile is relative to the project, not to the working folder
    assert main(["render", str(EXAMPLES / "sops"), "-o", "-"]) == 0
    objs = by_ref(list(yaml.safe_load_all(capsys.readouterr().out)))
    assert decoded(objs["Secret/shop/api-keys"]) == {
        "dsn": "postgres://shop:test-only-db-password@db.shop:5432/shop", "key": "test-only-api-key-0001"}
    assert decoded(objs["Secret/shop/api-env"]) == {"DB_PASSWORD": "test-only-db-password", "DB_USER": "shop"}


def test_sops_example_key_is_marked_as_test_key() -> None:
    assert (EXAMPLES / "sops" / "age-test-key.txt").read_text().splitlines()[0] == \
        "# TEST KEY — never use for real secrets"


def test_use_binary_comes_from_the_project(tmp_path: Path) -> None:
    from manifestkit.model import Project
    from manifestkit.secrets.sops_keys import sops_keys

    project = Project(
        name="p", root=tmp_path, spec={"apps": [], "secrets": {"sops": {"useBinary": True}}}, apps=(), environments={}
    )
    assert sops_keys(project, {}).use_binary is True
    assert sops_keys(dataclasses.replace(project, spec={"apps": []}), {}).use_binary is False
