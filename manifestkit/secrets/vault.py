"""Read secrets from Vault or OpenBao KV mounts (v1 and v2) through hvac.

One :class:`VaultReader` per render: it logs in on the first read (never earlier),
reads each (path, version) once and keeps the answers in memory. Every failure is a
:class:`~manifestkit.diagnostics.ManifestkitError` that names paths, keys and policies,
never a value or a token. hvac and requests are imported on first use, so importing
manifestkit (and the cheap registries such as the secret output modes) never loads them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from manifestkit.diagnostics import error
from manifestkit.secrets import vault_client
from manifestkit.secrets.vault_secret import VaultSecret, lookup_key, secret_values
from manifestkit.secrets.vault_settings import VaultAuth, VaultConfig, vault_config

if TYPE_CHECKING:
    import requests

__all__ = ["VaultAuth", "VaultConfig", "VaultReader", "VaultSecret", "lookup_key", "vault_config"]

T = TypeVar("T")


def _transient() -> tuple[type[Exception], ...]:
    """Worth another try: the server did not answer, or answered that it cannot serve now."""
    import hvac.exceptions
    import requests

    return (requests.exceptions.ConnectionError, requests.exceptions.Timeout, hvac.exceptions.InternalServerError,
            hvac.exceptions.BadGateway, hvac.exceptions.VaultDown, hvac.exceptions.RateLimitExceeded)


def hvac_errors() -> type[Exception]:
    import hvac.exceptions

    base: type[Exception] = hvac.exceptions.VaultError
    return base


class _Mount(NamedTuple):
    path: str  # "secret/"
    kv: str  # "2" for KV v2, "1" for KV v1 and any other logical backend


class VaultReader:
    """Reads Vault secrets for one render; a token in the config is used as is,
    otherwise the reader logs in with ``config.auth`` on its first read."""

    def __init__(self, config: VaultConfig, *, session: requests.Session | None = None) -> None:
        # `session` lets callers bring their own TLS/proxy settings (and tests count requests).
        self._config = config
        self._session = session
        self._client: Any = None
        self._mounts: dict[str, _Mount] = {}
        self._secrets: dict[tuple[str, str], VaultSecret] = {}
        self._deadline = vault_client.Deadline(config.deadline)

    def read(self, path: str, version: str | None = None) -> VaultSecret:
        """The secret at ``path`` (``secret/web`` or ``secret/data/web`` on KV v2)."""
        path = path.strip("/")
        if version is not None and not version.isdigit():
            raise error(f"Vault secret '{path}': found version {version!r}; expected a whole number")
        mount = self._mount(path)
        rest = path[len(mount.path):]
        if mount.kv == "2":
            api_path = f"{mount.path}data/{rest.removeprefix('data/')}"
        elif version is not None:
            raise error(
                f"Vault secret '{path}': found ?version={version} but mount '{mount.path}' is KV "
                f"version 1, which keeps no versions",
                hint="remove '?version=' from the reference",
            )
        else:
            api_path = path
        key = (api_path, version or "")
        if key not in self._secrets:
            try:
                self._secrets[key] = self._fetch(api_path, mount, version)
            except hvac_errors() as exc:
                raise error(f"reading Vault secret '{api_path}' failed: {_describe(exc)}") from None
        return self._secrets[key]

    def kv_version(self, path: str) -> int | None:
        """The KV version of the mount serving ``path`` from Vault's mount table; None when
        Vault does not say (older server, restricted token, not a KV mount)."""
        import hvac.exceptions

        try:
            answer = self._call(lambda: self._logged_in().adapter.get(f"/v1/sys/internal/ui/mounts/{path.strip('/')}"))
        except hvac.exceptions.VaultError:
            return None
        info = (answer or {}).get("data") or {}
        if info.get("type") not in ("kv", "generic"):
            return None
        return 2 if str((info.get("options") or {}).get("version")) == "2" else 1

    def _fetch(self, api_path: str, mount: _Mount, version: str | None) -> VaultSecret:
        import hvac.exceptions

        params = {"version": version} if version is not None else None
        try:
            response = self._call(lambda: self._logged_in().adapter.get(f"/v1/{api_path}", params=params))
        except hvac.exceptions.Forbidden:
            raise error(
                f"permission denied reading Vault secret '{api_path}'",
                hint=f"grant the token a policy with path \"{api_path}\" {{ capabilities = [\"read\"] }}, "
                f"or check that the token is valid",
            ) from None
        except hvac.exceptions.InvalidPath:
            at = f" at version {version}" if version is not None else ""
            raise error(f"Vault secret '{api_path}'{at} not found") from None
        data = (response or {}).get("data") or {}
        if mount.kv == "2" or {"data", "metadata"} <= data.keys():
            meta = data.get("metadata") or {}
            return VaultSecret(api_path, secret_values(data.get("data") or {}), str(meta.get("version", "")))
        return VaultSecret(api_path, secret_values(data), "")

    def _mount(self, path: str) -> _Mount:
        import hvac.exceptions

        known = [m for m in self._mounts.values() if path.startswith(m.path) or f"{path}/" == m.path]
        if known:
            return max(known, key=lambda m: len(m.path))
        try:
            # Any token with a capability on `path` may ask which mount serves it.
            answer = self._call(lambda: self._logged_in().adapter.get(f"/v1/sys/internal/ui/mounts/{path}"))
            info = (answer or {}).get("data") or {}
            options = info.get("options") or {}
            mount = _Mount(
                info["path"],
                "2" if info.get("type") == "kv" and str(options.get("version")) == "2" else "1",
            )
        except (hvac.exceptions.VaultError, KeyError):
            # Older servers or restricted tokens: trust this path's spelling (`mount/data/...`
            # is v2) and remember nothing, so the next path is asked about afresh.
            first, _, rest = path.partition("/")
            return _Mount(f"{first}/", "2" if rest.startswith("data/") else "1")
        self._mounts[mount.path] = mount
        return mount

    def _logged_in(self) -> Any:
        if self._client is None:
            config = self._config
            if not config.trusted:
                raise vault_client.untrusted(config.address)
            token = config.token or (vault_client.home_token(config.home) if config.auth.method == "token" else None)
            client = vault_client.make_client(config, self._session, token)
            if not token:
                _login(client, config.auth)
            self._client = client
        return self._client

    def _call(self, request: Callable[[], T]) -> T:
        """``request()`` within the render's Vault deadline, retried on connection errors, 429 and 5xx."""
        return vault_client.retrying(self._config, self._deadline, request)


def _login(client: Any, auth: VaultAuth) -> None:
    import hvac.exceptions

    if auth.method == "token":
        raise error(
            "no Vault token found",
            hint="set VAULT_TOKEN, or spec.secrets.vault.auth.method to approle or kubernetes",
        )
    mount = auth.mount or auth.method
    try:
        if auth.method == "approle":
            if not auth.role_id:
                raise error("Vault approle login needs a role id", path="spec.secrets.vault.auth.roleId")
            secret_id = _read_file(auth.secret_id_file, "AppRole secret id") if auth.secret_id_file else None
            client.auth.approle.login(role_id=auth.role_id, secret_id=secret_id, mount_point=mount)
        else:
            if not auth.role:
                raise error("Vault kubernetes login needs a role", path="spec.secrets.vault.auth.role")
            jwt = _read_file(auth.jwt_file, "Kubernetes service account token")
            client.auth.kubernetes.login(role=auth.role, jwt=jwt, mount_point=mount)
    except (KeyError, TypeError):   # a 200 answer without auth.client_token: not a Vault login
        raise error(f"Vault {auth.method} login at 'auth/{mount}/login' answered without a token",
                    hint="check that the address points at Vault itself") from None
    except hvac.exceptions.VaultError as exc:
        if isinstance(exc, _transient()):
            raise
        raise error(
            f"Vault {auth.method} login at 'auth/{mount}/login' failed: {_describe(exc)}",
            hint=f"check the {auth.method} role and credentials, and that the auth method is mounted at '{mount}'",
        ) from None


def _read_file(name: str, what: str) -> str:
    try:
        return Path(name).expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise error(f"cannot read {what} file '{name}': {exc.strerror}") from None


def _describe(exc: Exception) -> str:
    """A short, value-free description of a transport or server error."""
    return vault_client.server_words(exc)
