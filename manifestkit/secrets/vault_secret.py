"""One Vault secret as read, and the lookup of a key inside it (later segments descend into JSON-valued fields)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from manifestkit.diagnostics import error, one_of
from manifestkit.redact import SecretStr


class VaultSecret(NamedTuple):
    """One secret as read: ``path`` is the API path (``secret/data/web`` on KV v2)."""

    path: str
    data: Mapping[str, SecretStr]
    version: str


def lookup_key(secret: VaultSecret, key: Sequence[str]) -> SecretStr:
    """The value at ``key``; later segments descend into JSON-valued fields."""
    if not key:
        raise error(
            f"Vault secret '{secret.path}': found a reference without a key; expected "
            f"'#/KEY' with KEY one of: {one_of(secret.data)}"
        )
    if key[0] not in secret.data:
        raise error(
            f"Vault secret '{secret.path}' has no key '{key[0]}'; expected one of: {one_of(secret.data)}"
        )
    value: Any = secret.data[key[0]]
    for depth, segment in enumerate(key[1:], start=1):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                value = None
        if not isinstance(value, dict) or segment not in value:
            where = "/".join(key[:depth])
            keys = one_of(value) if isinstance(value, dict) else "(not an object)"
            raise error(
                f"Vault secret '{secret.path}' has no key '{'/'.join(key[:depth + 1])}' "
                f"under '{where}'; expected one of: {keys}"
            )
        value = value[segment]
    return value if isinstance(value, SecretStr) else _secret(value)


def secret_values(data: Mapping[str, Any]) -> dict[str, SecretStr]:
    return {str(k): _secret(v) for k, v in data.items()}


def _secret(value: Any) -> SecretStr:
    return SecretStr(value if isinstance(value, str) else json.dumps(value, sort_keys=True))

