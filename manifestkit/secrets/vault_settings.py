"""Vault settings: the Project's ``spec.secrets.vault`` and the VAULT_* variables as one config record."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from manifestkit.diagnostics import error, one_of
from manifestkit.secrets.vault_client import DEFAULT_DEADLINE, address_trusted, deadline_of

# Vault CLI's default address, so a bare `manifestkit render` behaves like `vault read`.
DEFAULT_ADDRESS = "https://127.0.0.1:8200"
AUTH_METHODS = ("approle", "kubernetes", "token")


class VaultAuth(NamedTuple):
    method: str = "token"
    role_id: str | None = None
    secret_id_file: str | None = None
    role: str | None = None
    jwt_file: str = "/var/run/secrets/kubernetes.io/serviceaccount/token"
    mount: str | None = None


class VaultConfig(NamedTuple):
    address: str
    token: str | None
    namespace: str | None
    cacert: str | None
    auth: VaultAuth
    retries: int = 3
    backoff: float = 0.2
    timeout: float = 10.0
    trusted: bool = True  # may this machine's credentials go to `address`? (see vault_client)
    home: str | None = None  # where ~/.vault-token is looked for (token auth only)
    deadline: float = DEFAULT_DEADLINE  # seconds for all of one render's Vault requests



def vault_config(spec: Mapping[str, Any] | None, environ: Mapping[str, str]) -> VaultConfig:
    """Settings from the Project's ``spec.secrets.vault``; VAULT_* variables win where set."""
    spec = spec or {}
    auth = spec.get("auth") or {}
    method = auth.get("method", "token")
    if method not in AUTH_METHODS:
        raise error(
            f"unknown Vault auth method {method!r}; expected one of: {one_of(AUTH_METHODS)}",
            path="spec.secrets.vault.auth.method",
        )
    defaults = VaultAuth()
    address = environ.get("VAULT_ADDR") or spec.get("address") or DEFAULT_ADDRESS
    return VaultConfig(
        address=address,
        trusted=address_trusted(address, not environ.get("VAULT_ADDR") and bool(spec.get("address")), environ),
        home=environ.get("HOME"),
        deadline=deadline_of(environ),
        token=environ.get("VAULT_TOKEN") or None,
        namespace=environ.get("VAULT_NAMESPACE") or spec.get("namespace"),
        cacert=environ.get("VAULT_CACERT") or spec.get("cacert"),
        auth=VaultAuth(
            method=method,
            role_id=auth.get("roleId"),
            secret_id_file=auth.get("secretIdFile"),
            role=auth.get("role"),
            jwt_file=auth.get("jwtFile", defaults.jwt_file),
            mount=auth.get("mount"),
        ),
    )
