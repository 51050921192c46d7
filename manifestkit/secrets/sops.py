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
import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pyrage

from manifestkit.diagnostics import Diagnostic, ManifestkitError, did_you_mean, one_of
from manifestkit.redact import SecretStr
from manifestkit.secrets.sops_formats import (
    EXTENSIONS,
    LOADERS,
    RULES,
    BadValue,
    Loaded,
    Rule,
    additional_data,
    open_value,
    rule_of,
    seal_value,
    text_of,
    to_bytes,
    to_yaml,
)

__all__ = ["SopsDocument", "SopsKeys", "decrypt_bytes", "decrypt_file", "encrypt_tree", "keys_from_env",
           "lookup", "to_yaml"]

SOPS_VERSION = "3.9.0"
# sops seeds the hash with sha256(b"sops") under mac_only_encrypted, so the two MAC modes never collide.
MAC_ONLY_ENCRYPTED_INIT = hashlib.sha256(b"sops").digest()
_TAMPERED = "the file was modified after encryption or is corrupt"
_RESTORE = "restore the file from version control, or re-encrypt it with sops from a trusted copy"


class SopsKeys(NamedTuple):
    """What may open a sops file. ``sources`` says where identities were looked for (for hints)."""

    age_identities: tuple[str, ...] = ()
    gnupghome: str | None = None
    use_binary: bool = False
    sources: tuple[str, ...] = ()


class SopsDocument(NamedTuple):
    """A decrypted file: plain tree (strings are SecretStr) and its MAC as a version."""

    tree: Any
    mac: str
    lastmodified: str
    path: str


def _fail(message: str, file: str, path: Sequence[str] = (), hint: str = "") -> ManifestkitError:
    return ManifestkitError([Diagnostic(message, file=file, path=".".join(path), hint=hint)])


# ---------------------------------------------------------------- keys


def keys_from_env(environ: Mapping[str, str], age_key_file: str | None = None) -> SopsKeys:
    """Age identities and GNUPGHOME where sops looks for them; only ``environ`` is read."""
    identities: list[str] = []
    sources: list[str] = []
    if environ.get("SOPS_AGE_KEY"):
        identities += _parse_identities(environ["SOPS_AGE_KEY"], "SOPS_AGE_KEY")
        sources.append("SOPS_AGE_KEY")
    named = [(p, label) for p, label in ((environ.get("SOPS_AGE_KEY_FILE"), "SOPS_AGE_KEY_FILE"),
                                         (age_key_file, "ageKeyFile")) if p]
    for path, label in named or [(str(_default_key_file(environ)), "sops default")]:
        full = _expand_home(path, environ)
        text = _read_if_present(full)
        sources.append(f"{label} {full}" + ("" if text is not None else " (not found)"))
        if text is not None:
            identities += _parse_identities(text, str(full))
    return SopsKeys(tuple(SecretStr(i) for i in identities), environ.get("GNUPGHOME") or None, False,
                    tuple(sources))


def _home(environ: Mapping[str, str]) -> Path:
    return Path(environ["HOME"]) if environ.get("HOME") else Path.home()


def _expand_home(path: str, environ: Mapping[str, str]) -> Path:
    if path == "~" or path.startswith("~/"):
        return _home(environ) / path[2:]
    return Path(path)


def _default_key_file(environ: Mapping[str, str]) -> Path:
    config = Path(environ["XDG_CONFIG_HOME"]) if environ.get("XDG_CONFIG_HOME") else _home(environ) / ".config"
    return config / "sops" / "age" / "keys.txt"


def _read_if_present(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read age key file: {exc.__class__.__name__}", str(path)) from None


def _parse_identities(text: str, where: str) -> list[str]:
    found = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            pyrage.x25519.Identity.from_str(line)
        except Exception:  # pyrage raises its own IdentityError or ValueError; the line itself is secret
            raise ManifestkitError([Diagnostic("not an age identity (AGE-SECRET-KEY-1...)", file=where, line=number,
                                               hint="age plugin and SSH identities are not supported")]) from None
        found.append(line)
    return found


def _entries(group: Mapping[str, Any], kind: str) -> list[Mapping[str, Any]]:
    return [e for e in group.get(kind) or [] if isinstance(e, Mapping) and e.get("enc")]


def _key_group(raw: Mapping[str, Any], file: str) -> Mapping[str, Any]:
    groups = raw.get("key_groups")
    if not groups:
        return raw
    if len(groups) > 1:
        raise _fail(f"the file splits its data key over {len(groups)} key groups (Shamir); not supported natively",
                    file, hint="decrypt it with the sops binary (use_binary=True)")
    group: Mapping[str, Any] = groups[0]
    return group


def _data_key(raw: Mapping[str, Any], keys: SopsKeys, file: str) -> bytes:
    group = _key_group(raw, file)
    key = _age_data_key(_entries(group, "age"), keys, file)
    gpg_errors: list[str] = []
    if key is None:
        key = _pgp_data_key(_entries(group, "pgp"), keys, gpg_errors)
    if key is None:
        raise _no_usable_key(group, keys, gpg_errors, file)
    if len(key) != 32:
        raise _fail(f"the data key has {len(key)} bytes, expected 32", file, hint=_RESTORE)
    return key


def _age_identities(keys: SopsKeys, file: str) -> list[Any]:
    try:
        return [pyrage.x25519.Identity.from_str(str.__str__(i)) for i in keys.age_identities]
    except Exception:  # pyrage.IdentityError; never repeat the identity itself
        raise _fail("an age identity given by the caller is not valid (AGE-SECRET-KEY-1...)", file) from None


def _age_data_key(entries: Sequence[Mapping[str, Any]], keys: SopsKeys, file: str) -> bytes | None:
    identities = _age_identities(keys, file)
    for entry in entries if identities else ():
        try:
            return bytes(pyrage.decrypt(str(entry["enc"]).encode(), identities))
        except Exception:  # pyrage.DecryptError: not one of our recipients
            continue
    return None


def _pgp_data_key(entries: Sequence[Mapping[str, Any]], keys: SopsKeys, errors: list[str]) -> bytes | None:
    for entry in entries:
        ok, out = _gpg(keys.gnupghome, ["--decrypt"], str(entry["enc"]).encode())
        if ok:
            return out
        errors.append(f"{entry.get('fp', '?')}: {out.decode('utf-8', 'replace')}")
    return None


def _gpg(gnupghome: str | None, args: list[str], stdin: bytes) -> tuple[bool, bytes]:
    """Run gpg; (True, stdout) or (False, gpg's last stderr line)."""
    home = ["--homedir", gnupghome] if gnupghome else []
    try:
        proc = subprocess.run(["gpg", "--batch", "--no-tty", "--quiet", *home, *args], input=stdin,
                              capture_output=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"cannot run gpg: {exc.__class__.__name__}".encode()
    if proc.returncode == 0:
        return True, proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    return False, (lines[-1][:200] if lines else f"gpg exited with {proc.returncode}".encode())


def _no_usable_key(group: Mapping[str, Any], keys: SopsKeys, gpg_errors: list[str], file: str) -> ManifestkitError:
    ages = [str(e.get("recipient", "?")) for e in _entries(group, "age")]
    pgps = [str(e.get("fp", "?")) for e in _entries(group, "pgp")]
    recipients = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in (("age", ages), ("pgp", pgps)) if names)
    given = len(keys.age_identities)
    looked = ", ".join(keys.sources) or (f"{given} identities given by the caller" if given else "nowhere (none given)")
    gnupg = keys.gnupghome or "gpg's default (~/.gnupg)"
    said = f"; gpg said: {' | '.join(gpg_errors)}" if gpg_errors else ""
    return _fail(f"cannot decrypt the data key: no usable key for the file's recipients ({recipients or 'none'})",
                 file, hint=f"age identities looked for in: {looked}; PGP secret keys in GNUPGHOME={gnupg}{said}")


# ---------------------------------------------------------------- decrypting


class _Walk(NamedTuple):
    key: bytes
    encrypted: Rule
    mac_only_encrypted: bool
    mac: Any  # a hashlib sha512 object
    file: str


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        value = text_of(value)
    return SecretStr(value) if isinstance(value, str) else value


def _open_tree(node: Any, path: list[str], walk: _Walk) -> Any:
    if isinstance(node, dict):
        return {_str_key(k, path, walk.file): _open_tree(v, [*path, k], walk) for k, v in node.items()}
    if isinstance(node, list):
        return [_open_tree(item, path, walk) for item in node]  # list items share their parent's path
    if node is None:
        return None
    encrypted = walk.encrypted(path, node)
    try:
        plain = open_value(node, walk.key, additional_data(path)) if encrypted else node
    except BadValue as exc:
        hint = f"{_TAMPERED}, or the value was moved from another key; {_RESTORE}" if exc.tampered else _RESTORE
        raise _fail(exc.reason, walk.file, path, hint) from None
    if encrypted or not walk.mac_only_encrypted:
        walk.mac.update(to_bytes(plain))
    return _plain(plain)


def _str_key(key: Any, path: list[str], file: str) -> str:
    if not isinstance(key, str):
        raise _fail(f"mapping key of type {type(key).__name__}: sops files have string keys only", file, path)
    return key


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
    mismatch = _fail(f"MAC mismatch: {_TAMPERED}", file, hint=_RESTORE)
    try:
        stored = open_value(raw.get("mac") or "", key, _rfc3339(str(raw.get("lastmodified", ""))))
    except BadValue:
        raise mismatch from None
    if not isinstance(stored, str) or not hmac.compare_digest(stored.upper(), computed):
        raise mismatch
    return stored


def _decrypt_loaded(loaded: Loaded, keys: SopsKeys, name: str) -> SopsDocument:
    raw = loaded.metadata
    key = _data_key(raw, keys, name)
    mac_only = raw.get("mac_only_encrypted") is True
    walk = _Walk(key, rule_of(raw, name), mac_only, hashlib.sha512(MAC_ONLY_ENCRYPTED_INIT if mac_only else b""), name)
    tree = _open_tree(loaded.data, [], walk)
    mac = _check_mac(raw, key, walk.mac.hexdigest().upper(), name)
    return SopsDocument(tree, mac, str(raw.get("lastmodified", "")), name)


def _decrypt_with_sops(loaded: Loaded, data: bytes, fmt: str, keys: SopsKeys, name: str) -> SopsDocument:
    # The child needs PATH and HOME like any process; only the key settings are ours to add.
    env = dict(os.environ)
    if keys.age_identities:
        env["SOPS_AGE_KEY"] = "\n".join(str.__str__(i) for i in keys.age_identities)
    if keys.gnupghome:
        env["GNUPGHOME"] = keys.gnupghome
    out_type = "binary" if fmt == "binary" else "json"
    proc = subprocess.run(["sops", "--decrypt", "--input-type", fmt, "--output-type", out_type, "/dev/stdin"],
                          input=data, capture_output=True, env=env, check=False, timeout=120)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        raise _fail(f"sops failed: {lines[-1][:200] if lines else proc.returncode}", name)
    try:
        tree = {"data": text_of(proc.stdout)} if fmt == "binary" else json.loads(proc.stdout)
    except ValueError:
        raise _fail("sops printed something that is not JSON", name) from None
    # Without the data key the MAC stays sealed; its sealed form changes exactly when the MAC does.
    return SopsDocument(_wrap_strings(tree), str(loaded.metadata.get("mac", "")),
                        str(loaded.metadata.get("lastmodified", "")), name)


def _wrap_strings(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _wrap_strings(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_wrap_strings(v) for v in node]
    return _plain(node)


def decrypt_bytes(data: bytes, fmt: str, keys: SopsKeys, name: str = "<input>") -> SopsDocument:
    """Decrypt a sops document of format ``fmt``; the MAC must verify."""
    loader = LOADERS.get(fmt)
    if loader is None:
        raise _fail(f"unknown sops format {fmt!r}; expected one of: {one_of(LOADERS)}", name,
                    hint=did_you_mean(fmt, list(LOADERS)))
    loaded = loader(data, name)
    if keys.use_binary and shutil.which("sops"):
        return _decrypt_with_sops(loaded, data, fmt, keys, name)
    return _decrypt_loaded(loaded, keys, name)


def decrypt_file(path: Path, keys: SopsKeys, fmt: str | None = None) -> SopsDocument:
    """Decrypt a sops file; the format comes from the extension unless given, as in sops."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise _fail("file not found", str(path), hint="check the path") from None
    except OSError as exc:
        raise _fail(f"cannot read file: {exc.__class__.__name__}", str(path)) from None
    return decrypt_bytes(data, fmt or EXTENSIONS.get(Path(path).suffix.lower(), "binary"), keys, str(path))


def lookup(doc: SopsDocument, key_path: Sequence[str]) -> Any:
    """The value at ``key_path`` (list indexes as digits); a missing key lists its siblings, never values."""
    node = doc.tree
    for depth, key in enumerate(key_path):
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            raise _missing(doc, key_path, depth, node)
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
    return _fail(f"key {'/'.join(key_path)!r} not found: no {key_path[depth]!r} at {where}; {there}",
                 doc.path, hint=hint)


# ---------------------------------------------------------------- encrypting


class _Seal(NamedTuple):
    key: bytes
    encrypted: Rule
    mac: Any


def _seal_tree(node: Any, path: list[str], seal: _Seal) -> Any:
    if isinstance(node, Mapping):
        return {_str_key(k, path, "<tree>"): _seal_tree(v, [*path, k], seal) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_seal_tree(item, path, seal) for item in node]
    if node is None:
        return None
    value = text_of(node) if isinstance(node, bytes) else node
    if not isinstance(value, (str, int, float, bool)):
        raise _fail(f"cannot encrypt a value of type {type(value).__name__}", "<tree>", path)
    value = str.__str__(value) if isinstance(value, str) else value
    seal.mac.update(to_bytes(value))
    return seal_value(value, seal.key, additional_data(path)) if seal.encrypted(path, value) else value


def _stamp(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _age_stanza(key: bytes, recipient: str) -> dict[str, str]:
    try:
        public = pyrage.x25519.Recipient.from_str(recipient)
    except Exception:  # pyrage.RecipientError
        raise _fail(f"not an age recipient: {recipient!r}", "<tree>", hint="age recipients start with age1") from None
    return {"recipient": recipient, "enc": bytes(pyrage.encrypt(key, [public], armored=True)).decode()}


def _pgp_stanza(key: bytes, fingerprint: str, gnupghome: str | None, stamp: str) -> dict[str, str]:
    ok, out = _gpg(gnupghome, ["--trust-model", "always", "--armor", "--encrypt", "--recipient", fingerprint], key)
    if not ok:
        raise _fail(f"gpg cannot encrypt to {fingerprint}: {out.decode('utf-8', 'replace')}", "<tree>",
                    hint=f"import the public key into GNUPGHOME={gnupghome or '~/.gnupg'}")
    return {"created_at": stamp, "enc": out.decode(), "fp": fingerprint}


def encrypt_tree(tree: Mapping[str, Any], *, age_recipients: Sequence[str] = (), pgp_fingerprints: Sequence[str] = (),
                 gnupghome: str | None = None, encrypted_regex: str | None = None,
                 now: datetime | None = None) -> dict[str, Any]:
    """A new dict: ``tree`` with values sealed as sops 3.x writes them, plus the ``sops`` metadata block."""
    if not age_recipients and not pgp_fingerprints:
        raise _fail("no recipients: give at least one age recipient or PGP fingerprint", "<tree>")
    if "sops" in tree:
        raise _fail("the tree already has a top-level 'sops' key", "<tree>", hint="is it encrypted already?")
    rule_name, rule_arg = ("encrypted_regex", encrypted_regex) if encrypted_regex else ("unencrypted_suffix", "_unencrypted")
    try:
        seal = _Seal(os.urandom(32), RULES[rule_name](rule_arg), hashlib.sha512())
    except re.error as exc:
        raise _fail(f"invalid encrypted_regex: {exc}", "<tree>") from None
    data = _seal_tree(tree, [], seal)
    stamp = _stamp(now or datetime.now(UTC))
    metadata: dict[str, Any] = {}
    if age_recipients:
        metadata["age"] = [_age_stanza(seal.key, r) for r in age_recipients]
    metadata["lastmodified"] = stamp
    metadata["mac"] = seal_value(seal.mac.hexdigest().upper(), seal.key, stamp)
    if pgp_fingerprints:
        metadata["pgp"] = [_pgp_stanza(seal.key, fp, gnupghome, stamp) for fp in pgp_fingerprints]
    metadata[rule_name] = rule_arg
    metadata["version"] = SOPS_VERSION
    return {**data, "sops": metadata}
