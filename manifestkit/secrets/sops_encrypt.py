"""sops encryption: a plain tree sealed under a fresh data key, with the ``sops`` metadata block sops 3.x writes."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from manifestkit.secrets.sops_datakey import age_stanza, pgp_stanza
from manifestkit.secrets.sops_tree import fail_at, str_key
from manifestkit.secrets.sops_values import RULES, Rule, additional_data, seal_value, text_of, to_bytes

SOPS_VERSION = "3.9.0"


class _Seal(NamedTuple):
    key: bytes
    encrypted: Rule
    mac: Any


def _seal_tree(node: Any, path: list[str], seal: _Seal) -> Any:
    if isinstance(node, Mapping):
        return {str_key(k, path, "<tree>"): _seal_tree(v, [*path, k], seal) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_seal_tree(item, path, seal) for item in node]
    if node is None:
        return None
    value = text_of(node) if isinstance(node, bytes) else node
    if not isinstance(value, (str, int, float, bool)):
        raise fail_at(f"cannot encrypt a value of type {type(value).__name__}", "<tree>", path)
    value = str.__str__(value) if isinstance(value, str) else value
    seal.mac.update(to_bytes(value))
    return seal_value(value, seal.key, additional_data(path)) if seal.encrypted(path, value) else value


def _stamp(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")



def encrypt_tree(tree: Mapping[str, Any], *, age_recipients: Sequence[str] = (), pgp_fingerprints: Sequence[str] = (),
                 gnupghome: str | None = None, encrypted_regex: str | None = None,
                 now: datetime | None = None) -> dict[str, Any]:
    """A new dict: ``tree`` with values sealed as sops 3.x writes them, plus the ``sops`` metadata block."""
    if not age_recipients and not pgp_fingerprints:
        raise fail_at("no recipients: give at least one age recipient or PGP fingerprint", "<tree>")
    if "sops" in tree:
        raise fail_at("the tree already has a top-level 'sops' key", "<tree>", hint="is it encrypted already?")
    rule_name, rule_arg = (
        ("encrypted_regex", encrypted_regex) if encrypted_regex else ("unencrypted_suffix", "_unencrypted")
    )
    try:
        seal = _Seal(os.urandom(32), RULES[rule_name](rule_arg), hashlib.sha512())
    except re.error as exc:
        raise fail_at(f"invalid encrypted_regex: {exc}", "<tree>") from None
    data = _seal_tree(tree, [], seal)
    stamp = _stamp(now or datetime.now(UTC))
    metadata: dict[str, Any] = {}
    if age_recipients:
        metadata["age"] = [age_stanza(seal.key, r) for r in age_recipients]
    metadata["lastmodified"] = stamp
    metadata["mac"] = seal_value(seal.mac.hexdigest().upper(), seal.key, stamp)
    if pgp_fingerprints:
        metadata["pgp"] = [pgp_stanza(seal.key, fp, gnupghome, stamp) for fp in pgp_fingerprints]
    metadata[rule_name] = rule_arg
    metadata["version"] = SOPS_VERSION
    return {**data, "sops": metadata}
