"""Rendering with `ref+vault://` refs against a real OpenBao dev server, through the CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from manifestkit.cli import main
from manifestkit.secrets.vault import VaultReader, VaultSecret
from tests._fixtures import decoded, write_files
from tests._openbao import (  # noqa: F401
    OpenBao,
    openbao_disposable_server,
    openbao_server,
    write_kv1,
    write_kv2,
)

PROJECT = """\
apiVersion: manifestkit.dev/v1alpha1
kind: Project
metadata: {name: vaulted}
spec:
  apps: [apps/*.yaml]
"""


def app(name: str, secrets: dict[str, Any], env: dict[str, str] | None = None) -> str:
    container: dict[str, Any] = {"name": name, "image": "nginx:1.25", **({"env": env} if env else {})}
    return yaml.safe_dump({"apiVersion": "manifestkit.dev/v1alpha1", "kind": "App",
                           "metadata": {"name": name, "namespace": "shop"},
                           "spec": {"containers": [container], "secrets": secrets}}, sort_keys=False)


def project(root: Path, apps: dict[str, str]) -> Path:
    app_files = {f"apps/{name}.yaml": text for name, text in apps.items()}
    return write_files(root, {"manifestkit.yaml": PROJECT, **app_files})


def use_server(monkeypatch: pytest.MonkeyPatch, server: OpenBao) -> None:
    monkeypatch.setenv("VAULT_ADDR", server.address)
    monkeypatch.setenv("VAULT_TOKEN", server.root_token)
    for name in ("VAULT_NAMESPACE", "VAULT_CACERT"):
        monkeypatch.delenv(name, raising=False)


def secrets_in(out: Path) -> dict[str, dict[str, str]]:
    found = {}
    for file in sorted(out.rglob("secret-*.yaml")):
        obj: dict[str, Any] = yaml.safe_load(file.read_text())
        found[obj["metadata"]["name"]] = decoded(obj)
    return found


def test_kv2_and_kv1_with_versions(openbao: OpenBao, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    write_kv2(openbao, "render/web", {"password": "v1-pass-0b1e", "user": "web"})
    write_kv2(openbao, "render/web", {"password": "v2-pass-77c4", "user": "web"})
    write_kv1(openbao, "render/legacy", {"token": "kv1-token-5d2a"})
    secrets = {"web-conf": {"stringData": {
        "password": "ref+vault://secret/data/render/web#/password",
        "old": "ref+vault://secret/render/web?version=1#/password",
        "dsn": "postgres://ref+vault://secret/data/render/web#/user+:ref+vault://secret/data/render/web#/password+@db",
        "avp": "<path:secret/data/render/web#password#1>",
        "legacy": "ref+vault://kv1/render/legacy#/token",
    }}}
    env = {"TOKEN": "ref+vault://kv1/render/legacy#/token"}
    root = project(tmp_path / "p", {"web": app("web", secrets, env)})
    use_server(monkeypatch, openbao)
    out = tmp_path / "out"
    assert main(["render", str(root), "-o", str(out)]) == 0, capsys.readouterr().err
    assert secrets_in(out) == {
        "web-conf": {"password": "v2-pass-77c4", "old": "v1-pass-0b1e", "dsn": "postgres://web:v2-pass-77c4@db",
                     "avp": "v1-pass-0b1e", "legacy": "kv1-token-5d2a"},
        "web-env": {"TOKEN": "kv1-token-5d2a"},
    }
    deployment = (out / "default" / "shop" / "deployment-web.yaml").read_text()
    assert "kv1-token-5d2a" not in deployment and "secretKeyRef" in deployment
    # --check against the same server: up to date, nothing printed but nothing to fix
    assert main(["render", str(root), "-o", str(out), "--check"]) == 0


def test_missing_key_names_the_keys_not_the_values(openbao: OpenBao, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    write_kv2(openbao, "render/keys", {"password": "kv-pass-91aa", "user": "u-3c"})
    root = project(tmp_path / "p", {"web": app("web", {"s": {"stringData": {"a": "ref+vault://secret/data/render/keys#/pasword"}}})})
    use_server(monkeypatch, openbao)
    monkeypatch.chdir(root)
    assert main(["render", ".", "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == ("apps/web.yaml:11: error: Vault secret 'secret/data/render/keys' has no key 'pasword'; "
                   "expected one of: password, user\n")
    assert "kv-pass-91aa" not in err and "u-3c" not in err
    assert not (tmp_path / "out").exists()


def _stop_after_first_read(monkeypatch: pytest.MonkeyPatch, server: OpenBao) -> list[str]:
    """Stop the server as soon as the render has read its first secret."""
    reads: list[str] = []
    original: Callable[..., VaultSecret] = VaultReader.read

    def read(self: VaultReader, path: str, version: str | None = None) -> VaultSecret:
        secret = original(self, path, version)
        reads.append(path)
        if len(reads) == 1:
            server.stop()
        return secret

    monkeypatch.setattr(VaultReader, "read", read)
    return reads


def test_server_stopped_in_the_middle_of_a_render(openbao_disposable: OpenBao, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    server = openbao_disposable
    write_kv2(server, "a", {"v": "first-value-1a"})
    write_kv2(server, "b", {"v": "second-value-2b"})
    root = project(tmp_path / "p", {
        "a": app("a", {"a": {"stringData": {"v": "ref+vault://secret/data/a#/v"}}}),
        "b": app("b", {"b": {"stringData": {"v": "ref+vault://secret/data/b#/v"}}}),
    })
    use_server(monkeypatch, server)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("untouched\n")
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    reads = _stop_after_first_read(monkeypatch, server)
    assert main(["render", str(root), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert reads == ["secret/data/a"]                       # one secret read, then the server was gone
    assert f"error: Vault at {server.address} is unreachable after 4 attempts (connection failed)" in err
    assert "hint: check VAULT_ADDR or spec.secrets.vault.address and that the server is up" in err
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before
    assert (out / "keep.txt").read_text() == "untouched\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]   # no staging folder left
    assert "first-value-1a" not in err
