"""Native SOPS: decrypt and encrypt sops files without the ``sops`` binary.

A sops file keeps its structure in clear text; each value is sealed with AES-256-GCM
under one random 32-byte data key, with the value's key path (``a:b:c:``) as additional
data, so a value moved to another key no longer opens. The data key is stored once per
recipient (age via pyrage, PGP via the ``gpg`` binary). A MAC (SHA-512 over the
plaintext values in document order, itself sealed with ``lastmodified`` as additional
data) makes reordering, editing clear-text values or swapping list items detectable.
Decrypted strings are :class:`SecretStr`; no error ever carries a value or the data key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from manifestkit.diagnostics import ManifestkitError, did_you_mean, one_of
from manifestkit.secrets.sops_binary import decrypt_with_sops
from manifestkit.secrets.sops_datakey import data_key
from manifestkit.secrets.sops_encrypt import encrypt_tree
from manifestkit.secrets.sops_formats import EXTENSIONS, LOADERS, Loaded, to_yaml
from manifestkit.secrets.sops_keys import SopsKeys, keys_from_env
from manifestkit.secrets.sops_print import printed
from manifestkit.secrets.sops_tree import RESTORE, TAMPERED, SopsDocument, fail_at, str_key
from manifestkit.secrets.sops_values import BadValue, Rule, additional_data, open_value, plain_value, rule_of, to_bytes

__all__ = ["SopsDocument", "SopsKeys", "decrypt_bytes", "decrypt_file", "encrypt_tree", "keys_from_env",
           "lookup", "printed", "to_yaml"]

# sops seeds the hash with sha256(b"sops") under mac_only_encrypted, so the two MAC modes never collide.
MAC_ONLY_ENCRYPTED_INIT = hashlib.sha256(b"sops").digest()


class _Walk(NamedTuple):
    key: bytes
    encrypted: Rule
    mac_only_encrypted: bool
    mac: Any  # a hashlib sha512 object
    file: str


def _open_tree(node: Any, path: list[str], walk: _Walk) -> Any:
    if isinstance(node, dict):
        return {str_key(k, path, walk.file): _open_tree(v, [*path, k], walk) for k, v in node.items()}
    if isinstance(node, list):
        return [_open_tree(item, path, walk) for item in node]  # list items share their parent's path
    if node is None:
        return None
    encrypted = walk.encrypted(path, node)
    try:
        plain = open_value(node, walk.key, additional_data(path)) if encrypted else node
    except BadValue as exc:
        hint = f"{TAMPERED}, or the value was moved from another key; {RESTORE}" if exc.tampered else RESTORE
        raise fail_at(exc.reason, walk.file, path, hint) from None
    if encrypted or not walk.mac_only_encrypted:
        walk.mac.update(to_bytes(plain))
    return plain_value(plain)


def _rfc3339(text: str) -> str:
    """lastmodified as Go's time.RFC3339 formats it (sops re-formats it before using it)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    offset = moment.utcoffset()
    if offset is None:
        return text
    zone = moment.strftime("%z")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + ("Z" if offset == timedelta(0) else f"{zone[:3]}:{zone[3:]}")


def _check_mac(raw: Mapping[str, Any], key: bytes, computed: str, file: str) -> str:
    mismatch = fail_at(f"MAC mismatch: {TAMPERED}", file, hint=RESTORE)
    try:
        stored = open_value(raw.get("mac") or "", key, _rfc3339(str(raw.get("lastmodified", ""))))
    except BadValue:
        raise mismatch from None
    if not isinstance(stored, str) or not hmac.compare_digest(stored.upper(), computed):
        raise mismatch
    return stored


def _decrypt_loaded(loaded: Loaded, keys: SopsKeys, name: str, fmt: str) -> SopsDocument:
    raw = loaded.metadata
    key = data_key(raw, keys, name)
    mac_only = raw.get("mac_only_encrypted") is True
    walk = _Walk(key, rule_of(raw, name), mac_only, hashlib.sha512(MAC_ONLY_ENCRYPTED_INIT if mac_only else b""), name)
    tree = _open_tree(loaded.data, [], walk)
    mac = _check_mac(raw, key, walk.mac.hexdigest().upper(), name)
    return SopsDocument(tree, mac, str(raw.get("lastmodified", "")), name, fmt)


def decrypt_bytes(data: bytes, fmt: str, keys: SopsKeys, name: str = "<input>") -> SopsDocument:
    """Decrypt a sops document of format ``fmt``; the MAC must verify."""
    loader = LOADERS.get(fmt)
    if loader is None:
        raise fail_at(f"unknown sops format {fmt!r}; expected one of: {one_of(LOADERS)}", name,
                    hint=did_you_mean(fmt, list(LOADERS)))
    if keys.use_binary:  # sops reads the file itself: what it accepts, we must not refuse first
        return decrypt_with_sops(data, fmt, keys, name)
    return _decrypt_loaded(loader(data, name), keys, name, fmt)


def decrypt_file(path: Path, keys: SopsKeys, fmt: str | None = None) -> SopsDocument:
    """Decrypt a sops file; the format comes from the extension unless given, as in sops."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise fail_at("file not found", str(path), hint="check the path") from None
    except OSError as exc:
        raise fail_at(f"cannot read file: {exc.__class__.__name__}", str(path)) from None
    return decrypt_bytes(data, fmt or EXTENSIONS.get(Path(path).suffix.lower(), "binary"), keys, str(path))


def lookup(doc: SopsDocument, key_path: Sequence[str]) -> Any:
    """The value at ``key_path`` (list indexes as digits); a missing key lists its siblings, never values."""
    return descend(doc.tree, key_path, lambda depth, node: _missing(doc, key_path, depth, node))


def descend(tree: Any, key_path: Sequence[str], missing: Callable[[int, Any], Exception]) -> Any:
    """The value at ``key_path`` in a decoded tree (list indexes as digits); where a key is not there, raises
    ``missing(depth, node)`` with the node it was looked up in."""
    node = tree
    for depth, key in enumerate(key_path):
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            raise missing(depth, node)
    return node


def _missing(doc: SopsDocument, key_path: Sequence[str], depth: int, node: Any) -> ManifestkitError:
    where = "/".join(key_path[:depth]) or "the top level"
    if isinstance(node, dict):
        there = f"keys at {where}: {one_of(node) or '(none)'}"
        hint = did_you_mean(key_path[depth], list(node))
    elif isinstance(node, list):
        there, hint = f"{where} is a list of {len(node)} items; use an index 0..{len(node) - 1}", ""
    else:
        there, hint = f"{where} is a {type(node).__name__}, not a map", ""
    return fail_at(f"key {'/'.join(key_path)!r} not found: no {key_path[depth]!r} at {where}; {there}",
                 doc.path, hint=hint)

