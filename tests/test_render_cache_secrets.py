"""No resolved secret value ever reaches the render cache: Vault values (a real OpenBao dev server), sops values
(the sops example's age key), in every secret output mode; apps with references are rendered every time."""

from __future__ import annotations

import base64
import secrets
import shutil
from pathlib import Path

import pytest
import yaml

from manifestkit.cli import main
from tests._openbao import OpenBao, openbao_server, write_kv2  # noqa: F401

from .conftest import EXAMPLES
from .test_render_cache import entries

PROJECT = """apiVersion: manifestkit.dev/v1alpha1
kind: Project
metadata: {name: secretive}
spec:
  apps: [apps/*.yaml]
  secrets:
    output: secret
    vaultAgent: {role: web, runAsUser: 101}
    sops:
      ageKeyFile: age-test-key.txt
      ageRecipients: [age1jg8m850qprtv4p72pvsc7hh6ryd806e9ycgh4zhqexadttzadftskld7w0]
"""

VAULTED = """apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: vaulted, namespace: shop}
spec:
  containers:
    - name: vaulted
      image: nginx:1.25
      env: {API_TOKEN: "ref+vault://secret/data/cache-test/web#/token"}    # (not for vault-agent: files only)
      volumeMounts: [{name: creds, mountPath: /etc/creds}]
  volumes: [{name: creds, secret: {secretName: vaulted-creds}}]
  secrets:
    vaulted-creds:
      stringData:
        password: ref+vault://secret/data/cache-test/web#/password
"""

SOPSED = """apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: sopsed, namespace: shop}
spec:
  containers:
    - name: sopsed
      image: nginx:1.25
      env:
        DB_PASSWORD: ref+sops://secrets.enc.yaml#/db/password
  secrets:
    sopsed-keys:
      stringData: {key: ref+sops://secrets.enc.yaml#/api/key}
"""

PLAIN = """apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: plain, namespace: shop}
spec:
  containers: [{name: plain, image: "nginx:1.25"}]
  configMaps: {plain-config: {data: {MODE: fast}}}
"""


def project(root: Path, sops: bool = True, env: bool = True) -> Path:
    """Vault references, sops references (unless the mode reads only Vault) and an app with none."""
    (root / "apps").mkdir(parents=True)
    (root / "manifestkit.yaml").write_text(PROJECT)
    for name in ("age-test-key.txt", "secrets.enc.yaml"):
        shutil.copy(EXAMPLES / "sops" / name, root / name)
    vaulted = VAULTED if env else "\n".join(line for line in VAULTED.split("\n") if "API_TOKEN" not in line)
    for name, text in (("vaulted", vaulted), *((("sopsed", SOPSED),) if sops else ()), ("plain", PLAIN)):
        (root / "apps" / f"{name}.yaml").write_text(text)
    return root


def secret_values(out: Path) -> set[str]:
    """Every value of every Secret the render wrote (decoded), and each one's base64 as written."""
    found: set[str] = set()
    for file in out.rglob("secret-*.yaml"):
        obj = yaml.safe_load(file.read_text())
        for value in (obj.get("data") or {}).values():
            found.add(value)
            try:
                found.add(base64.b64decode(value, validate=True).decode())
            except ValueError:     # sops-encrypted: ENC[...], not base64
                pass
    return found


@pytest.mark.parametrize("fmt", ["plain", "kustomize"])
@pytest.mark.parametrize("mode", ["secret", "sops", "external-secret", "reference", "vault-agent"])
def test_no_resolved_value_is_ever_stored(mode: str, fmt: str, openbao: OpenBao, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    token, password = f"tok-{secrets.token_hex(8)}", f"pw-{secrets.token_hex(8)}"
    write_kv2(openbao, "cache-test/web", {"token": token, "password": password})
    monkeypatch.setenv("VAULT_ADDR", openbao.address)
    monkeypatch.setenv("VAULT_TOKEN", openbao.root_token)
    root = project(tmp_path / "p", sops=mode in ("secret", "sops"), env=mode != "vault-agent")
    cache = tmp_path / "cache"
    args = ["render", str(root), "--allow-plaintext-secrets", "--no-lint", "--quiet", "--cache-dir", str(cache),
            "--secret-output", mode, "-f", fmt]
    for run in ("cold", "warm"):
        assert main([*args, "-o", str(tmp_path / run)]) == 0, capsys.readouterr().err
    from_sops = {"test-only-db-password", "test-only-api-key-0001"}    # the sops example's values
    written = secret_values(tmp_path / "cold")
    if mode == "secret":
        assert {token, password, *from_sops} <= written, "the values were resolved and written"
    known = {token, password, *from_sops, *written} - {""}
    stored = [p for p in cache.rglob("*") if p.is_file()]
    assert stored
    leaked = {(p.name, value) for p in stored for value in known if value.encode() in p.read_bytes()}
    assert leaked == set()
    assert {entry["app"] for entry in entries(cache).values()} == {"plain"}, "only the app without references"
    kept = {rel.split("/")[1 if rel.startswith("base/") else 2] for body in entries(cache, "emitted").values()
            for rel in body}
    assert kept == ({"plain"} if fmt == "kustomize" else set()), "the emitter keeps the files of that app only"


def test_an_app_with_references_is_rendered_every_time(openbao: OpenBao, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("VAULT_ADDR", openbao.address)
    monkeypatch.setenv("VAULT_TOKEN", openbao.root_token)
    root, cache = project(tmp_path / "p"), tmp_path / "cache"
    args = ["render", str(root), "--allow-plaintext-secrets", "--no-lint", "--quiet", "--cache-dir", str(cache)]
    for password in ("first-2f1a", "second-9c3e"):
        write_kv2(openbao, "cache-test/web", {"token": "t", "password": password})
        assert main([*args, "-o", str(tmp_path / password)]) == 0, capsys.readouterr().err
        assert password in secret_values(tmp_path / password)
