"""KV engine versions of Vault mounts, for templates written without reading Vault: from the ref, the Project, the
mount table, or an error.

The Vault agent (consul-template) reads ``secret/data/app`` on a KV v2 mount and finds the
fields under ``.Data.data``; on KV v1 they are under ``.Data``. A wrong guess renders
``<no value>`` forever, so a version that cannot be known is an error, never a guess:

1. the ref's ``?kv=1|2`` option;
2. the Project's ``spec.secrets.vault.kv: {<mount>: 1|2}``;
3. the spelling ``<mount>/data/...`` (KV v2 API paths put ``data/`` after the mount);
4. Vault's own mount table (``sys/internal/ui/mounts/<path>``), only with
   ``spec.secrets.vault.kvLookup: true`` (render then needs Vault and a token).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from manifestkit.secrets.refs import Ref

if TYPE_CHECKING:
    from manifestkit.secrets.vault import VaultReader

KV_VERSIONS = (1, 2)
KvLookup = Callable[[str], int | None]     # a Vault path → its mount's KV version, None when unknown


class KvPath(NamedTuple):
    """Where a template reads: the path written into ``with secret`` and its KV version."""

    path: str       # as consul-template reads it: ``secret/data/app`` on KV v2
    version: int


def kv_table(settings: Mapping[str, Any]) -> dict[str, int]:
    """``spec.secrets.vault.kv`` as ``{mount: version}`` (mount without slashes)."""
    table = (settings.get("vault") or {}).get("kv") or {}
    return {str(mount).strip("/"): int(version) for mount, version in table.items()}


def _mount_of(path: str, table: Mapping[str, int]) -> str | None:
    """The longest mount of ``table`` that serves ``path`` (mounts may hold slashes)."""
    path = path.strip("/")
    found = [m for m in table if path == m or path.startswith(f"{m}/")]
    return max(found, key=len) if found else None


def kv_path(ref: Ref, table: Mapping[str, int], lookup: KvLookup | None = None) -> KvPath:
    """The path and KV version a template for ``ref`` must use; ValueError when unknown."""
    path = ref.path.strip("/")
    option = ref.option("kv")
    mount = _mount_of(path, table)
    version: int | None
    if option is not None:
        if option not in ("1", "2"):
            raise ValueError(f"{ref.raw!r}: found ?kv={option}; expected ?kv=1 or ?kv=2")
        version = int(option)
        mount = mount or path.partition("/")[0]
    elif mount is not None:
        version = table[mount]
    elif path.partition("/")[2].startswith("data/"):
        mount, version = path.partition("/")[0], 2
    else:
        version = lookup(path) if lookup is not None else None
        mount = path.partition("/")[0]
    if version is None:
        raise ValueError(
            f"{ref.raw!r}: cannot tell whether Vault mount {mount!r} is KV version 1 or 2, and the agent "
            f"template differs (.Data vs .Data.data); set spec.secrets.vault.kv: {{{mount}: 2}} in "
            f"manifestkit.yaml, write the KV v2 path {mount}/data/{path[len(mount) + 1:]}, add ?kv=2 to the "
            f"ref, or set spec.secrets.vault.kvLookup: true to ask Vault's mount table")
    if version == 2:
        rest = path[len(mount):].strip("/")
        path = f"{mount}/data/{rest.removeprefix('data/')}"
    return KvPath(path, version)


def vault_lookup(reader: VaultReader) -> KvLookup:
    """A lookup through a :class:`~manifestkit.secrets.vault.VaultReader`'s mount table."""
    def lookup(path: str) -> int | None:
        return reader.kv_version(path)
    return lookup
