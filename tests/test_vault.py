"""The Vault backend against a real OpenBao dev server, and the backend registry."""

from __future__ import annotations

import dataclasses
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from manifestkit.diagnostics import ManifestkitError
from manifestkit.model import Source
from manifestkit.redact import SecretStr
from manifestkit.secrets.refs import parse_ref
from manifestkit.secrets.vault import VaultAuth, VaultConfig, VaultReader, lookup_key, vault_config
from tests._openbao import (
    OpenBao,
    approle,
    openbao_disposable_server,  # noqa: F401
    openbao_server,  # noqa: F401
    token_with_policy,
    write_kv1,
    write_kv2,
)


def _name() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


def _reader(server: OpenBao, token: str | None = None, **more: Any) -> VaultReader:
    config = vault_config(None, {"VAULT_ADDR": server.address, "VAULT_TOKEN": token or server.root_token})
    return VaultReader(config._replace(**more))


def _message(call: Any) -> str:
    with pytest.raises(ManifestkitError) as caught:
        call()
    assert caught.value.exit_code == 2
    return str(caught.value)


class CountingSession(requests.Session):
    """A real HTTP session that remembers every URL it sent."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        self.urls.append(str(url))
        return super().request(method, url, *args, **kwargs)


def test_kv2_read_both_spellings(openbao: OpenBao) -> None:
    name = _name()
    write_kv2(openbao, name, {"password": "pw-1", "user": "web"})
    reader = _reader(openbao)
    secret = reader.read(f"secret/data/{name}")
    assert (secret.path, secret.version) == (f"secret/data/{name}", "1")
    assert {k: v.reveal() for k, v in secret.data.items()} == {"password": "pw-1", "user": "web"}
    assert reader.read(f"secret/{name}") == secret
    value = lookup_key(secret, ("password",))
    assert isinstance(value, SecretStr) and value.reveal() == "pw-1"


def test_kv2_version(openbao: OpenBao) -> None:
    name = _name()
    write_kv2(openbao, name, {"password": "old"})
    write_kv2(openbao, name, {"password": "new"})
    reader = _reader(openbao)
    old = reader.read(f"secret/{name}", "1")
    assert (lookup_key(old, ["password"]).reveal(), old.version) == ("old", "1")
    latest = reader.read(f"secret/{name}")
    assert (lookup_key(latest, ["password"]).reveal(), latest.version) == ("new", "2")
    ref = parse_ref(f"ref+vault://secret/data/{name}?version=1#/password")
    assert lookup_key(reader.read(ref.path, ref.version), ref.key).reveal() == "old"


def test_kv1_read(openbao: OpenBao) -> None:
    name = _name()
    write_kv1(openbao, name, {"token": "v1-value", "nested": {"a": 1}})
    reader = _reader(openbao)
    secret = reader.read(f"kv1/{name}")
    assert (secret.path, secret.version) == (f"kv1/{name}", "")
    assert lookup_key(secret, ["token"]).reveal() == "v1-value"
    assert lookup_key(secret, ["nested", "a"]).reveal() == "1"
    assert _message(lambda: reader.read(f"kv1/{name}", "2")) == (
        f"<input>: error: Vault secret 'kv1/{name}': found ?version=2 but mount 'kv1/' is KV version 1, "
        f"which keeps no versions\n  hint: remove '?version=' from the reference"
    )


def test_approle_login(openbao: OpenBao, tmp_path: Path) -> None:
    name = _name()
    write_kv2(openbao, name, {"password": "via-approle"})
    token_with_policy(openbao, "read-secret", 'path "secret/data/*" { capabilities = ["read"] }')
    role_id, secret_id = approle(openbao, "ci", ["read-secret"])
    (tmp_path / "secret-id").write_text(secret_id + "\n")
    spec = {"address": openbao.address,
            "auth": {"method": "approle", "roleId": role_id, "secretIdFile": str(tmp_path / "secret-id")}}
    reader = VaultReader(vault_config(spec, {"MANIFESTKIT_VAULT_ADDRESSES": openbao.address}))
    assert lookup_key(reader.read(f"secret/data/{name}"), ["password"]).reveal() == "via-approle"


def test_approle_bad_secret_id(openbao: OpenBao, tmp_path: Path) -> None:
    role_id, _ = approle(openbao, "ci-bad", ["default"])
    (tmp_path / "secret-id").write_text("not-the-secret-id")
    auth = VaultAuth(method="approle", role_id=role_id, secret_id_file=str(tmp_path / "secret-id"))
    reader = VaultReader(VaultConfig(openbao.address, None, None, None, auth))
    message = _message(lambda: reader.read("secret/data/anything"))
    assert message == (
        "<input>: error: Vault approle login at 'auth/approle/login' failed: invalid role or secret ID\n"
        "  hint: check the approle role and credentials, and that the auth method is mounted at 'approle'"
    )
    assert "not-the-secret-id" not in message


def test_no_token() -> None:
    reader = VaultReader(vault_config({"address": "http://127.0.0.1:1"}, {"MANIFESTKIT_TRUST_VAULT_ADDRESS": "1"}))
    assert _message(lambda: reader.read("secret/data/x")) == (
        "<input>: error: no Vault token found\n"
        "  hint: set VAULT_TOKEN, or spec.secrets.vault.auth.method to approle or kubernetes"
    )


def test_permission_denied(openbao: OpenBao) -> None:
    name = _name()
    write_kv2(openbao, f"denied-{name}", {"password": "forbidden-value"})
    token = token_with_policy(openbao, "deny-some", (
        'path "secret/data/*" { capabilities = ["read"] }\n'
        'path "secret/data/denied-*" { capabilities = ["deny"] }\n'
    ))
    message = _message(lambda: _reader(openbao, token).read(f"secret/data/denied-{name}"))
    assert message == (
        f"<input>: error: permission denied reading Vault secret 'secret/data/denied-{name}'\n"
        f"  hint: grant the token a policy with path \"secret/data/denied-{name}\" "
        f"{{ capabilities = [\"read\"] }}, or check that the token is valid"
    )


def test_missing_path(openbao: OpenBao) -> None:
    name = _name()
    assert _message(lambda: _reader(openbao).read(f"secret/{name}")) == (
        f"<input>: error: Vault secret 'secret/data/{name}' not found"
    )
    assert _message(lambda: _reader(openbao).read(f"kv1/{name}")) == (
        f"<input>: error: Vault secret 'kv1/{name}' not found"
    )


def test_missing_key_names_keys_not_values(openbao: OpenBao) -> None:
    name = _name()
    write_kv2(openbao, name, {"user": "alice-value", "password": "s3cret-value"})
    secret = _reader(openbao).read(f"secret/{name}")
    message = _message(lambda: lookup_key(secret, ["pasword"]))
    assert message == (
        f"<input>: error: Vault secret 'secret/data/{name}' has no key 'pasword'; expected one of: password, user"
    )
    assert "s3cret-value" not in message and "alice-value" not in message


def test_unreachable_after_bounded_retries(openbao_disposable: OpenBao) -> None:
    server = openbao_disposable
    reader = _reader(server)
    server.stop()
    began = time.monotonic()
    message = _message(lambda: reader.read("secret/data/web"))
    assert time.monotonic() - began < 5
    assert message == (
        f"<input>: error: Vault at {server.address} is unreachable after 4 attempts (connection failed)\n"
        f"  hint: check VAULT_ADDR or spec.secrets.vault.address and that the server is up"
    )


def test_sealed_server_is_retried_then_reported(openbao_disposable: OpenBao) -> None:
    server = openbao_disposable
    reader = _reader(server, backoff=0.05)
    server.client().sys.seal()
    message = _message(lambda: reader.read("secret/data/web"))
    assert message == (
        f"<input>: error: Vault at {server.address} answered 503 unavailable (sealed or standby) 4 times\n"
        f"  hint: check the server's health (sealed? overloaded?) and try again"
    )


def test_kubernetes_login_needs_the_service_account_token(tmp_path: Path) -> None:
    spec = {"address": "http://127.0.0.1:1",
            "auth": {"method": "kubernetes", "role": "web", "jwtFile": str(tmp_path / "missing")}}
    reader = VaultReader(vault_config(spec, {"MANIFESTKIT_TRUST_VAULT_ADDRESS": "1"}))
    assert _message(lambda: reader.read("secret/data/x")) == (
        f"<input>: error: cannot read Kubernetes service account token file '{tmp_path / 'missing'}': "
        f"No such file or directory"
    )


def test_recovers_when_server_returns(openbao_disposable: OpenBao) -> None:
    server = openbao_disposable
    server.restart()
    write_kv2(server, "web", {"password": "after-restart"})
    assert lookup_key(_reader(server).read("secret/web"), ["password"]).reveal() == "after-restart"


def test_one_request_per_path_and_version(openbao: OpenBao) -> None:
    name = _name()
    write_kv2(openbao, name, {"password": "a"})
    write_kv2(openbao, name, {"password": "b"})
    session = CountingSession()
    config = vault_config(None, {"VAULT_ADDR": openbao.address, "VAULT_TOKEN": openbao.root_token})
    reader = VaultReader(config, session=session)
    assert session.urls == []  # nothing happens before the first read
    first = reader.read(f"secret/data/{name}")
    assert reader.read(f"secret/data/{name}") is first
    assert reader.read(f"secret/{name}") is first
    reader.read(f"secret/{name}", "1")
    reader.read(f"secret/{name}", "1")
    reads = [u for u in session.urls if f"/v1/secret/data/{name}" in u]
    assert len(reads) == 2
    assert len(session.urls) == 3  # plus one mount lookup for secret/


def test_vault_config_environment_wins() -> None:
    spec = {"address": "https://vault:8200", "namespace": "team", "cacert": "/ca.pem",
            "auth": {"method": "kubernetes", "role": "web", "mount": "k8s"}}
    assert vault_config(spec, {"VAULT_ADDR": "https://other:8200", "VAULT_NAMESPACE": "ops"}) == VaultConfig(
        "https://other:8200", None, "ops", "/ca.pem",
        VaultAuth("kubernetes", role="web", mount="k8s"),
    )
    assert vault_config(None, {}).address == "https://127.0.0.1:8200"
    assert _message(lambda: vault_config({"auth": {"method": "ldap"}}, {})) == (
        "<input>: error: spec.secrets.vault.auth.method: unknown Vault auth method 'ldap'; "
        "expected one of: approle, kubernetes, token"
    )


# --- the backend registry ------------------------------------------------------------------


def _context(root: Path, environ: dict[str, str] | None = None, vault: VaultReader | None = None) -> Any:
    from manifestkit.secrets import backends, sops

    return backends.backend_context(root, environ or {}, vault, sops.SopsKeys(), Source(file="apps/web.yaml", line=14),
                                    env_allow=["DB_PASSWORD", "NOPE"])


def test_backend_env_and_file(tmp_path: Path) -> None:
    from manifestkit.secrets.backends import BACKENDS, resolve

    ctx = _context(tmp_path, {"DB_PASSWORD": "env-value"})
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "db.json").write_text('{"auth": [{"token": "file-value"}]}')
    (tmp_path / "plain.txt").write_text("whole\n")
    assert sorted(BACKENDS) == ["env", "file", "sops", "vault"]
    assert resolve(parse_ref("ref+env://DB_PASSWORD"), ctx) == ("env-value", "")
    assert resolve(parse_ref("ref+file://conf/db.json#/auth/0/token"), ctx) == ("file-value", "")
    assert resolve(parse_ref("ref+file://plain.txt"), ctx).value.reveal() == "whole\n"
    assert _message(lambda: resolve(parse_ref("ref+env://NOPE"), ctx)) == (
        "apps/web.yaml:14: error: ref+env://NOPE: environment variable 'NOPE' is not set"
    )
    assert _message(lambda: resolve(parse_ref("ref+env://HOME"), ctx)) == (
        "apps/web.yaml:14: error: ref+env://HOME: environment variable 'HOME' is not in the project's "
        "spec.secrets.env.allow (DB_PASSWORD, NOPE); a project may copy only the variables it declares into a Secret\n"
        "  hint: add 'HOME' (or a prefix such as 'HOME_*') to spec.secrets.env.allow in manifestkit.yaml"
    )
    assert _message(lambda: resolve(parse_ref("ref+file://../outside.txt"), ctx)) == (
        f"apps/web.yaml:14: error: ref+file://../outside.txt: path '../outside.txt' leaves the project folder; "
        f"expected a path inside '{tmp_path}'"
    )
    assert _message(lambda: resolve(parse_ref("ref+file://conf/db.json#/auth/0/pw"), ctx)) == (
        "apps/web.yaml:14: error: ref+file://conf/db.json#/auth/0/pw: no key 'pw' under '/auth/0' "
        "in 'conf/db.json'; found keys: token"
    )


def test_backend_vault(openbao: OpenBao, tmp_path: Path) -> None:
    from manifestkit.secrets.backends import resolve

    name = _name()
    write_kv2(openbao, name, {"password": "vault-value"})
    ctx = _context(tmp_path, vault=_reader(openbao))
    assert resolve(parse_ref(f"<path:secret/data/{name}#password#1>"), ctx) == ("vault-value", "1")
    assert _message(lambda: resolve(parse_ref(f"ref+vault://secret/{name}#/nope"), ctx)) == (
        f"apps/web.yaml:14: error: Vault secret 'secret/data/{name}' has no key 'nope'; expected one of: password"
    )
    no_vault = dataclasses.replace(ctx, vault=None)
    assert _message(lambda: resolve(parse_ref("ref+vault://secret/x#/y"), no_vault)) == (
        "apps/web.yaml:14: error: ref+vault://secret/x#/y: found a Vault reference but Vault is not configured\n"
        "  hint: set VAULT_ADDR, or spec.secrets.vault.address in manifestkit.yaml"
    )


def test_backend_sops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyrage
    import yaml

    from manifestkit.secrets import backends, sops

    identity = pyrage.x25519.Identity.generate()
    tree = sops.encrypt_tree({"api": {"key": "sops-value"}}, age_recipients=[str(identity.to_public())])
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "web.enc.yaml").write_text(yaml.safe_dump(tree))
    calls: list[Path] = []
    real = sops.decrypt_file

    def counting(path: Path, keys: Any, fmt: str | None = None) -> Any:
        calls.append(path)
        return real(path, keys, fmt)

    monkeypatch.setattr(sops, "decrypt_file", counting)
    keys = sops.SopsKeys(age_identities=(str(identity),))
    ctx = backends.backend_context(tmp_path, {}, None, keys)
    first = backends.resolve(parse_ref("ref+sops://secrets/web.enc.yaml#/api/key"), ctx)
    again = backends.resolve(parse_ref("ref+sops://secrets/web.enc.yaml#/api/key"), ctx)
    assert len(calls) == 1  # decrypted once per run
    assert isinstance(first.value, SecretStr)
    mac = real(tmp_path / "secrets" / "web.enc.yaml", keys).mac
    assert first == again == ("sops-value", mac)
