"""The sops data key, wrapped and unwrapped for each recipient: age through pyrage, PGP through the ``gpg`` binary."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

import pyrage

from manifestkit.diagnostics import ManifestkitError
from manifestkit.secrets.sops_keys import SopsKeys
from manifestkit.secrets.sops_tree import RESTORE, fail_at


def _entries(group: Mapping[str, Any], kind: str) -> list[Mapping[str, Any]]:
    return [e for e in group.get(kind) or [] if isinstance(e, Mapping) and e.get("enc")]


def _key_group(raw: Mapping[str, Any], file: str) -> Mapping[str, Any]:
    groups = raw.get("key_groups")
    if not groups:
        return raw
    if len(groups) > 1:
        raise fail_at(f"the file splits its data key over {len(groups)} key groups (Shamir); not supported natively",
                    file, hint="decrypt it with the sops binary (use_binary=True)")
    group: Mapping[str, Any] = groups[0]
    return group


def data_key(raw: Mapping[str, Any], keys: SopsKeys, file: str) -> bytes:
    group = _key_group(raw, file)
    key = _age_data_key(_entries(group, "age"), keys, file)
    gpg_errors: list[str] = []
    if key is None:
        key = _pgp_data_key(_entries(group, "pgp"), keys, gpg_errors)
    if key is None:
        raise _no_usable_key(group, keys, gpg_errors, file)
    if len(key) != 32:
        raise fail_at(f"the data key has {len(key)} bytes, expected 32", file, hint=RESTORE)
    return key


def _age_identities(keys: SopsKeys, file: str) -> list[Any]:
    try:
        return [pyrage.x25519.Identity.from_str(str.__str__(i)) for i in keys.age_identities]
    except Exception:  # pyrage.IdentityError; never repeat the identity itself
        raise fail_at("an age identity given by the caller is not valid (AGE-SECRET-KEY-1...)", file) from None


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


# Every way a key reaches us, named where a key is missing (sops_keys.keys_from_env reads them).
KEY_WAYS = ("give an age identity with SOPS_AGE_KEY_FILE or SOPS_AGE_KEY, or spec.secrets.sops.ageKeyFile in "
            "manifestkit.yaml, or import the PGP secret key into the gpg keyring (GNUPGHOME)")


def _no_usable_key(group: Mapping[str, Any], keys: SopsKeys, gpg_errors: list[str], file: str) -> ManifestkitError:
    ages = [str(e.get("recipient", "?")) for e in _entries(group, "age")]
    pgps = [str(e.get("fp", "?")) for e in _entries(group, "pgp")]
    recipients = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in (("age", ages), ("pgp", pgps)) if names)
    given = len(keys.age_identities)
    looked = ", ".join(keys.sources) or (f"{given} identities given by the caller" if given else "nowhere (none given)")
    gnupg = keys.gnupghome or "gpg's default (~/.gnupg)"
    said = f"; gpg said: {' | '.join(gpg_errors)}" if gpg_errors else ""
    return fail_at(f"cannot decrypt the data key: no usable key for the file's recipients ({recipients or 'none'})",
                 file, hint=f"age identities looked for in: {looked}; PGP secret keys in GNUPGHOME={gnupg}{said}; "
                            f"{KEY_WAYS}")




def age_stanza(key: bytes, recipient: str) -> dict[str, str]:
    try:
        public = pyrage.x25519.Recipient.from_str(recipient)
    except Exception:  # pyrage.RecipientError
        raise fail_at(f"not an age recipient: {recipient!r}", "<tree>", hint="age recipients start with age1") from None
    return {"recipient": recipient, "enc": bytes(pyrage.encrypt(key, [public], armored=True)).decode()}


def pgp_stanza(key: bytes, fingerprint: str, gnupghome: str | None, stamp: str) -> dict[str, str]:
    ok, out = _gpg(gnupghome, ["--trust-model", "always", "--armor", "--encrypt", "--recipient", fingerprint], key)
    if not ok:
        raise fail_at(f"gpg cannot encrypt to {fingerprint}: {out.decode('utf-8', 'replace')}", "<tree>",
                    hint=f"import the public key into GNUPGHOME={gnupghome or '~/.gnupg'}")
    return {"created_at": stamp, "enc": out.decode(), "fp": fingerprint}

