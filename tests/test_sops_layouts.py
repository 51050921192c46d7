"""``spec.secrets.sops.layout``: KSOPS generators (``--format kustomize``) and helm-secrets
values files (``--format helm``), each proven equal to the plain render by the real tools.

The ksops plugin is not installed here, so the Kustomize proof substitutes each generator
with what it generates (the decrypted files, via manifestkit's own decryptor) and builds
with real ``kubectl kustomize``. The Helm proof decrypts ``secrets-<env>.yaml`` the same way
and passes it to real Helm (helm-python-sdk) as an extra values file, as ``helm secrets``
does. The age key is generated per test run (never a real key).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import helm_python as helm
import pyrage
import pytest
import yaml

from manifestkit.cli import main
from manifestkit.diagnostics import ManifestkitError
from manifestkit.emit.helm_secrets import (
    DATA_PLACEHOLDER,
    data_template,
    secret_skeleton,
    secret_values,
    with_data_template,
)
from manifestkit.emit.sops_layouts import KSOPS_FILE, ksops_generator
from manifestkit.loader import load_project
from manifestkit.model import Options, Project
from manifestkit.secrets.sops import SopsKeys, decrypt_bytes, to_yaml

from ._fixtures import write_files
from ._formats import differences, helm_objects, keyed, plain_objects, render_dir

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed (see README: test tools)")
ENVS = ("dev", "prod")
SECRET_VALUES = {"DB_PASSWORD": "s3cr3t-Pa55", "API_TOKEN": "tok-9f8e7d"}   # test values, never real ones

APP = """
apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: web, namespace: web}
spec:
  containers:
    - name: web
      image: nginx:1.25
      env:
        DB_PASSWORD: ref+env://DB_PASSWORD
      volumeMounts: [{name: tokens, mountPath: /etc/tokens, readOnly: true}]
  volumes:
    - name: tokens
      secret: {secretName: web-tokens}
  configMaps:
    web-config: {data: {MODE: fast}}
  secrets:
    web-tokens:
      stringData: {token: ref+env://API_TOKEN, user: admin}
"""
DEV = """
apiVersion: manifestkit.dev/v1alpha1
kind: Overlay
metadata: {name: dev}
spec:
  namespace: web-dev
  labels: {env: dev}
  apps:
    web:
      secrets: {web-tokens: {stringData: {user: dev-admin}}}
"""
PROD = """
apiVersion: manifestkit.dev/v1alpha1
kind: Overlay
metadata: {name: prod}
spec:
  extends: [builtin:production]
  namespace: web-prod
  labels: {env: prod}
  apps:
    web: {replicas: 3}
"""


class Keys:
    """A throw-away age identity: its recipient for the project, its secret key for decrypting."""

    def __init__(self) -> None:
        identity = pyrage.x25519.Identity.generate()
        self.secret = str(identity)
        self.recipient = str(identity.to_public())
        self.sops = SopsKeys(age_identities=(self.secret,))


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


def project_files(recipient: str, layout: str) -> dict[str, str]:
    project = f"""
apiVersion: manifestkit.dev/v1alpha1
kind: Project
metadata: {{name: web}}
spec:
  apps: [apps/*.yaml]
  environments:
    dev: {{overlays: [overlays/dev.yaml]}}
    prod: {{overlays: [overlays/prod.yaml]}}
  secrets:
    output: sops
    env: {{allow: [DB_PASSWORD, API_TOKEN]}}
    sops: {{ageRecipients: [{recipient}], layout: {layout}}}
"""
    return {"manifestkit.yaml": project, "apps/web.yaml": APP, "overlays/dev.yaml": DEV, "overlays/prod.yaml": PROD}


def environ(keys: Keys) -> dict[str, str]:
    return {**SECRET_VALUES, "SOPS_AGE_KEY": keys.secret}


def sops_options(keys: Keys) -> Options:
    return Options(environ=environ(keys))


def plain_options(keys: Keys) -> Options:
    return Options(secret_output="secret", allow_plaintext_secrets=True, environ=environ(keys))


def make_project(tmp_path: Path, keys: Keys, layout: str) -> Project:
    return load_project(write_files(tmp_path / "project", project_files(keys.recipient, layout)))


def decrypted(path: Path, keys: Keys) -> Any:
    """A sops file opened with our decryptor, as plain data (SecretStr → str)."""
    return json.loads(json.dumps(decrypt_bytes(path.read_bytes(), "yaml", keys.sops, str(path)).tree))


def assert_sealed(path: Path) -> None:
    text = path.read_text()
    assert "\nsops:\n" in text and "ENC[AES256_GCM" in text, path
    assert [v for v in SECRET_VALUES.values() if v in text] == [], path


def no_plaintext_anywhere(out: Path) -> None:
    for path in out.rglob("*"):
        if path.is_file():
            assert [v for v in SECRET_VALUES.values() if v in path.read_text()] == [], path


# ------------------------------------------------------------------ ksops


def substitute_generators(overlay: Path, keys: Keys) -> None:
    """What the ksops plugin does, done by hand: each generator's files, decrypted, become
    resources of the same kustomization (the generated objects go through the same transformers)."""
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    generated: list[str] = []
    for name in kustomization.pop("generators", []):
        for rel in yaml.safe_load((overlay / name).read_text())["files"]:
            (overlay / rel).write_text(to_yaml(decrypted(overlay / rel, keys)))
            generated.append(rel)
        (overlay / name).unlink()
    kustomization["resources"] = [*kustomization["resources"], *generated]
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))


def kustomize(folder: Path) -> dict[tuple[str, str, str], Any]:
    assert KUBECTL is not None
    done = subprocess.run([KUBECTL, "kustomize", str(folder)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return keyed(yaml.safe_load_all(done.stdout))


def test_ksops_overlays_list_their_encrypted_secrets_in_a_generator_not_as_resources(
    tmp_path: Path, keys: Keys
) -> None:
    project = make_project(tmp_path, keys, "ksops")
    out = render_dir(project, "kustomize", tmp_path / "out", sops_options(keys))
    assert list(out.glob("base/**/secret-*.yaml")) == []
    assert "generators" not in yaml.safe_load((out / "base" / "kustomization.yaml").read_text())
    for env in ENVS:
        overlay = out / "overlays" / env / "web"     # the app's kustomization
        kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
        assert kustomization["generators"] == [KSOPS_FILE]
        assert [r for r in kustomization["resources"] if "secret" in r] == []
        files = [f"secrets/web-{env}/secret-web-env.yaml", f"secrets/web-{env}/secret-web-tokens.yaml"]
        assert yaml.safe_load((overlay / KSOPS_FILE).read_text()) == {
            "apiVersion": "viaduct.ai/v1", "kind": "ksops",
            "metadata": {"name": "manifestkit-secrets",
                         "annotations": {"config.kubernetes.io/function": "exec:\n  path: ksops\n"}},
            "files": files}
        for rel in files:
            assert_sealed(overlay / rel)
            assert yaml.safe_load((overlay / rel).read_text())["sops"]["encrypted_regex"] == "^(data|stringData)$"
    no_plaintext_anywhere(out)


@needs_kubectl
@pytest.mark.parametrize("env", ENVS)
def test_ksops_overlay_builds_like_the_plain_render_once_the_generator_has_decrypted(
        env: str, tmp_path: Path, keys: Keys) -> None:
    project = make_project(tmp_path, keys, "ksops")
    out = render_dir(project, "kustomize", tmp_path / "out", sops_options(keys))
    substitute_generators(out / "overlays" / env / "web", keys)
    built = kustomize(out / "overlays" / env)
    want = plain_objects(project, env, plain_options(keys))
    assert differences(built, want) == []
    assert built[("Secret", f"web-{env}", "web-tokens")]["data"]["token"] == "dG9rLTlmOGU3ZA=="   # tok-9f8e7d


def test_flux_is_the_default_layout_and_keeps_encrypted_secrets_as_resources(tmp_path: Path, keys: Keys) -> None:
    files = project_files(keys.recipient, "flux")
    files["manifestkit.yaml"] = files["manifestkit.yaml"].replace(", layout: flux", "")
    out = render_dir(load_project(write_files(tmp_path / "project", files)), "kustomize", tmp_path / "out",
                     sops_options(keys))
    assert not list(out.rglob(KSOPS_FILE))
    base = yaml.safe_load((out / "base" / "web" / "kustomization.yaml").read_text())
    assert [r for r in base["resources"] if r.endswith("/secret-web-tokens.yaml")] == [], "each env has its own"
    for env in ("dev", "prod"):
        overlay = yaml.safe_load((out / "overlays" / env / "web" / "kustomization.yaml").read_text())
        secret = next(r for r in overlay["resources"] if r.endswith("/secret-web-tokens.yaml"))
        assert "ENC[AES256_GCM" in (out / "overlays" / env / "web" / secret).read_text()


def test_an_unknown_layout_is_refused_by_the_schema(tmp_path: Path, keys: Keys) -> None:
    with pytest.raises(ManifestkitError) as caught:
        make_project(tmp_path, keys, "sealed-secrets")
    assert "layout" in caught.value.diagnostics[0].format()


# ------------------------------------------------------------------ helm-secrets



def merged(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of two values files (maps deeply; the later one wins)."""
    out = dict(a)
    for key, value in b.items():
        out[key] = merged(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


def lint_errors(chart: Path, values: dict[str, Any]) -> list[str]:
    report = helm.lint(str(chart), values)
    return [*report["errors"], *(m["error"] for m in report["messages"] if m["severity"] >= 3)]


def env_values(chart: Path, env: str) -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load((chart / f"values-{env}.yaml").read_text()) or {}
    return values


@pytest.mark.parametrize("env", ENVS)
def test_helm_secrets_values_decrypted_render_like_plain_and_the_chart_lints_without_them(
        env: str, tmp_path: Path, keys: Keys) -> None:
    project = make_project(tmp_path, keys, "helm-secrets")
    chart = render_dir(project, "helm", tmp_path / "out", sops_options(keys)) / "charts" / "web"
    secrets = decrypted(chart / f"secrets-{env}.yaml", keys)
    assert secrets["secrets"]["web-tokens"] == {"token": "tok-9f8e7d", "user": "dev-admin" if env == "dev" else "admin"}
    got = helm_objects(chart, merged(env_values(chart, env), secrets))
    assert differences(got, plain_objects(project, env, plain_options(keys))) == []
    assert lint_errors(chart, env_values(chart, env)) == []


def test_helm_secrets_layout_files(tmp_path: Path, keys: Keys) -> None:
    project = make_project(tmp_path, keys, "helm-secrets")
    chart = render_dir(project, "helm", tmp_path / "out", sops_options(keys)) / "charts" / "web"
    for name in ("secrets.yaml", "secrets-dev.yaml", "secrets-prod.yaml"):
        assert_sealed(chart / name)
        sealed = yaml.safe_load((chart / name).read_text())
        assert sealed["sops"]["unencrypted_suffix"] == "_unencrypted"
        assert all(str(v).startswith("ENC[") for s in sealed["secrets"].values() for v in s.values())
    assert decrypted(chart / "secrets.yaml", keys)["secrets"]["web-env"] == {"DB_PASSWORD": "s3cr3t-Pa55"}
    template = (chart / "templates" / "secret-web-tokens.yaml").read_text()
    assert '(dig "web-tokens" dict (.Values.secrets | default dict))' in template and "b64enc" in template
    assert "sops" not in template and "ENC[" not in template
    for name in ("values.yaml", "values-dev.yaml", "values-prod.yaml"):
        assert "secrets" not in (yaml.safe_load((chart / name).read_text()) or {})
    no_plaintext_anywhere(chart)


def test_helm_secrets_without_a_key_that_opens_the_secrets_is_an_error_with_a_hint(tmp_path: Path, keys: Keys) -> None:
    project = make_project(tmp_path, keys, "helm-secrets")
    not_a_recipient = Keys()
    with pytest.raises(ManifestkitError) as caught:
        render_dir(
            project,
            "helm",
            tmp_path / "out",
            Options(environ={**SECRET_VALUES, "SOPS_AGE_KEY": not_a_recipient.secret}),
        )
    assert caught.value.diagnostics[0].message.startswith(
        "helm-secrets layout: cannot open Secret/web/web-env to move its values into the secrets values file: ")
    assert "SOPS_AGE_KEY" in caught.value.diagnostics[0].hint


@pytest.mark.parametrize(
    ("layout", "fmt"), [("flux", "kustomize"), ("ksops", "kustomize"), ("flux", "helm"), ("helm-secrets", "helm")]
)
def test_render_twice_gives_the_same_bytes_and_check_passes(
    layout: str, fmt: str, tmp_path: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_files(tmp_path / "project", project_files(keys.recipient, layout))
    for name, value in environ(keys).items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "out"
    argv = ["render", str(root), "-f", fmt, "-o", str(out)]
    assert main(argv) == 0
    first = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert main(argv) == 0
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == first
    assert main([*argv, "--check"]) == 0


# ------------------------------------------------------------------ pure parts


def test_ksops_generator_shape() -> None:
    assert ksops_generator(["secrets/a.yaml"], "gen") == {
        "apiVersion": "viaduct.ai/v1", "kind": "ksops",
        "metadata": {"name": "gen", "annotations": {"config.kubernetes.io/function": "exec:\n  path: ksops\n"}},
        "files": ["secrets/a.yaml"]}


def test_secret_values_decode_data_and_keep_string_data() -> None:
    secret = {"metadata": {"name": "s"}, "data": {"b": "dHdv"}, "stringData": {"a": "one"}}
    assert secret_values(secret) == {"a": "one", "b": "two"}
    assert secret_skeleton({**secret, "kind": "Secret", "sops": {}}) == {
        "metadata": {"name": "s"}, "kind": "Secret", "data": DATA_PLACEHOLDER}


def test_a_binary_value_is_refused_with_a_hint() -> None:
    with pytest.raises(ManifestkitError) as caught:
        secret_values({"metadata": {"name": "s"}, "data": {"bin": "/w=="}})
    assert caught.value.diagnostics[0].message == (
        "helm-secrets layout: Secret 's' key 'bin' is not UTF-8 text, which a values file cannot hold for b64enc")


def test_data_placeholder_line_becomes_the_values_loop() -> None:
    text = with_data_template(f"kind: Secret\ndata: {DATA_PLACEHOLDER}\ntype: Opaque\n", "s")
    assert text == "\n".join(["kind: Secret", *data_template("s"), "type: Opaque"]) + "\n"
