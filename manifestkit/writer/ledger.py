"""The ledger: which files in the output folder manifestkit wrote, with a fingerprint of each."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.writer.paths import read_file, shown

LEDGER = ".manifestkit-files.json"

# relative path → the fingerprints its file may have. One normally; two while a write is under
# way (old and new, so a kill between the two leaves either accounted for); none for an entry an
# older manifestkit wrote, which listed names only. A fingerprint is the sha256 of the bytes, or,
# for a private file (a Secret), its identity on disk (inode, mtime, size): the ledger is readable
# by all and often committed, and a bare hash of a Secret would let anyone test guesses of it.
Ledger = Mapping[str, frozenset[str]]


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def identity(info: os.stat_result) -> str:
    """A file's identity: a rename keeps it, any write or replacement changes it."""
    return f"stat:{info.st_ino}:{info.st_mtime_ns}:{info.st_size}"


def fingerprint(data: bytes, private: bool, info: os.stat_result) -> str:
    """What the ledger records for a file manifestkit wrote (``info``: the file's stat)."""
    return identity(info) if private else digest(data)


def fingerprint_at(data: bytes, private: bool, path: str) -> str:
    """:func:`fingerprint` of the file at ``path``, which is looked at only when its fingerprint is its stat."""
    return identity(os.lstat(path)) if private else digest(data)


def read_ledger(root: Path, name: str = LEDGER) -> dict[str, frozenset[str]]:
    """The ledger ``name`` of ``root``; empty when there is none."""
    raw = read_file(root / name)
    if raw is None:
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise _unreadable(root, f"found invalid JSON ({exc})", name) from exc
    if isinstance(data, list) and all(isinstance(rel, str) for rel in data):
        return {rel: frozenset() for rel in data}
    if isinstance(data, dict):
        entries = {rel: _digests(value) for rel, value in data.items()}
        if all(value is not None for value in entries.values()):
            return {rel: value for rel, value in entries.items() if value is not None}
    raise _unreadable(root, "found JSON of another shape", name)


def known_files(root: Path, ledger: Ledger, name: str = LEDGER) -> frozenset[str]:
    """Every file a ledger of ``root`` lists (``ledger``: the one named ``name``, already read): manifestkit
    wrote them, so a write may replace them. Shards of a render keep one ledger each
    (``.manifestkit-files.shard-I-of-N.json``)."""
    others = [n for n in _ledger_names(root) if n != name]
    return frozenset(ledger).union(*(read_ledger(root, n) for n in others))


def _ledger_names(root: Path) -> list[str]:
    try:
        names = os.listdir(root)
    except OSError:
        return []
    stem = LEDGER.removesuffix(".json")
    return sorted(n for n in names if n == LEDGER or (n.startswith(f"{stem}.shard-") and n.endswith(".json")))


LEDGER_CHUNK = 1024   # ledger entries made bytes at a time


def ledger_bytes(ledger: Ledger, chunk: int = LEDGER_CHUNK) -> bytes:
    """The ledger as written: sorted, one digest as a string, several (or none) as a list; the bytes
    of ``json.dumps(body, indent=1)``, written entry by entry (json's indenting encoder is pure
    Python and builds every piece of a big ledger before joining them), ``chunk`` entries at a time
    made bytes: the text of every entry is never held at once beside its copies (at N = 10,000 the
    whole-ledger way took 13 MB more than the ledger's bytes, the peak of a render's write)."""
    return b"".join(ledger_parts(ledger, chunk))


def ledger_parts(ledger: Ledger, chunk: int = LEDGER_CHUNK) -> list[bytes]:
    """:func:`ledger_bytes` in parts, to be written one after another (never joined: a big ledger's bytes are
    held once)."""
    if not ledger:
        return [b"{}\n"]
    rels = sorted(ledger)
    parts = [b"{\n"]
    for start in range(0, len(rels), chunk):
        entries = ",\n".join(f" {_quoted(rel)}: {_fingerprints(ledger[rel])}" for rel in rels[start:start + chunk])
        parts.append((",\n" + entries if start else entries).encode())
    parts.append(b"\n}\n")
    return parts


_quoted = json.encoder.encode_basestring_ascii   # what json.dumps writes for a string (ensure_ascii)


def _fingerprints(known: frozenset[str]) -> str:
    if len(known) == 1:
        return _quoted(next(iter(known)))
    if not known:
        return "[]"
    return "[\n" + ",\n".join(f"  {_quoted(mark)}" for mark in sorted(known)) + "\n ]"


def is_ours(ledger: Ledger, rel: str, data: bytes, info: os.stat_result) -> bool:
    """Whether the file at ``rel`` (its bytes and stat) is as manifestkit wrote it (any, for an old name-only entry)."""
    known = ledger.get(rel)
    return known is not None and (not known or digest(data) in known or identity(info) in known)


def _digests(value: object) -> frozenset[str] | None:
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return frozenset(value)
    return None


def _unreadable(root: Path, found: str, name: str = LEDGER) -> ManifestkitError:
    return ManifestkitError(
        [
            Diagnostic(
                message=f"{found}; expected manifestkit's ledger of the files it wrote here",
                file=shown(root, name),
                hint="delete it and render with --force: manifestkit then owns every file it makes",
            )
        ]
    )
