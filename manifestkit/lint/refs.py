"""Recognising secret references (vals ``ref+backend://``, Argo CD Vault Plugin
``<path:...>``) and Vault agent templates inside string values.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from manifestkit.lint.podspec import Path

REFERENCE = re.compile(r"ref\+[a-z0-9]+://[^\s\"']*|<path:[^>\s]+>")
# `{{ with secret "PATH" }} ... {{ end }}`, `(secret "PATH").Data.x` and `index (secret "PATH").Data "x"`
_WITH_SECRET = re.compile(
    r"\{\{-?\s*with\s+secret\s+\"(?P<path>[^\"]+)\"[^}]*\}\}(?P<body>.*?)\{\{-?\s*end\s*-?\}\}", re.S
)
_CALL_SECRET = re.compile(r"\(\s*secret\s+\"(?P<path>[^\"]+)\"[^)]*\)(?P<body>\.Data(?:\.\w+)*(?:\s+\"[^\"]*\")?)")
# What a template reads below `.Data`: `.Data.x`, `.Data.data.x`, `index .Data "x"`, `index .Data.data "x"`
# (manifestkit's own form), all reduced to the first field and whether a second follows.
_DATA_FIELD = re.compile(r"\.Data(?:\.(?P<ifield>[A-Za-z_]\w*))?\s+\"(?P<ikey>[^\"]*)\"|"
                         r"\.Data\.(?P<key>[A-Za-z_][A-Za-z0-9_]*)(?P<sub>\.\w+)?")
def is_reference(value: Any) -> bool:
    return isinstance(value, str) and REFERENCE.search(value) is not None


def strings(value: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Every string value of a nested structure with its path (keys are not values)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, (*path, index))


def line_offset(text: str, position: int) -> int:
    """Lines from the key to ``position`` in a value written as a block scalar (``|``)."""
    return text.count("\n", 0, position) + 1 if "\n" in text else 0


class SecretRead(NamedTuple):
    vault_path: str
    key: str            # the first field below .Data (`data` for .Data.data.x)
    position: int       # offset of the `.Data` access in the text
    nested: bool = False  # a second field follows (`.Data.data.x`, `index .Data.data "x"`)


def secret_reads(text: str) -> Iterator[SecretRead]:
    """Every field below ``.Data`` a Vault agent (consul-template) template reads, with its secret path."""
    if "secret" not in text:    # what both patterns start with: nearly every text is done at once
        return
    for pattern in (_WITH_SECRET, _CALL_SECRET):
        for match in pattern.finditer(text):
            start = match.start("body")
            for field in _DATA_FIELD.finditer(match.group("body")):
                if field.group("ikey") is not None:
                    first = field.group("ifield") or field.group("ikey")
                    yield SecretRead(
                        match.group("path"), first, start + field.start(), field.group("ifield") is not None
                    )
                else:
                    yield SecretRead(match.group("path"), field.group("key"), start + field.start(),
                                     field.group("sub") is not None)


def is_kv1_path(vault_path: str, kv1_mounts: frozenset[str]) -> bool:
    """Is a Vault path on a mount the configuration lists as KV version 1?"""
    mount = vault_path.strip("/").partition("/")[0]
    return mount in kv1_mounts


def is_kv2_path(vault_path: str, kv1_mounts: frozenset[str], kv2_mounts: frozenset[str]) -> bool:
    """Is a Vault path on a KV version 2 engine?

    KV v2 API paths put ``data/`` after the mount (``secret/data/app``); consul-template
    also accepts the bare path on a v2 mount (``secret/app``) and adds ``data/`` itself.
    The mount is the first segment; ``secret/`` is v2 unless configured otherwise (it is
    on `vault server -dev` and in Vault's getting-started setup).
    """
    mount, _, rest = vault_path.strip("/").partition("/")
    if mount in kv1_mounts:
        return False
    return mount in kv2_mounts or rest.startswith("data/")
