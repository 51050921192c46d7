"""Stable sops bytes across renders: an encrypted Secret whose content did not change keeps the previous file's bytes.

sops seals every value with a fresh IV under a fresh data key, so without this every
render would rewrite every sops Secret and `render --check` and git would always see a
change. Reusing the previous file needs a key that opens it (SOPS_AGE_KEY_FILE,
SOPS_AGE_KEY, ``spec.secrets.sops.ageKeyFile``, gpg). When the previous file cannot be
compared (no key opens it, it was edited, it is not sops YAML) the new file is written,
which is always safe, and a warning says so: a render that keeps rewriting the same
Secret is a surprise worth one line. Called by `render` with the files about to be
written; not a pipeline step.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from manifestkit.diagnostics import WARNING, Diagnostic, ManifestkitError, display_path
from manifestkit.model import Options, Project
from manifestkit.secrets.sops_keys import SopsKeys, sops_keys
from manifestkit.writer import OutFile
from manifestkit.yamlio import load_documents

SOPS_MARK = b"\nsops:\n"
_KEY_HINT = ("give a key that opens it (SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, spec.secrets.sops.ageKeyFile or a gpg "
             "secret key) to keep unchanged Secrets byte for byte")

Recipients = tuple[tuple[str, ...], tuple[str, ...]]


def _recipients(data: bytes, name: str) -> Recipients | None:
    """(age recipients, PGP fingerprints) of a sops YAML document; None if it has no ``sops`` map."""
    docs = load_documents(data.decode("utf-8", "replace"), name)
    meta = docs[0].data.get("sops") if len(docs) == 1 and isinstance(docs[0].data, dict) else None
    if not isinstance(meta, dict):
        return None
    return (tuple(sorted(str(a.get("recipient")) for a in meta.get("age") or [] if isinstance(a, dict))),
            tuple(sorted(str(p.get("fp")) for p in meta.get("pgp") or [] if isinstance(p, dict))))


def same_sops_content(old: bytes, new: bytes, keys: SopsKeys, name: str = "<previous>") -> bool:
    """Whether two sops YAML documents hold the same content for the same recipients.

    Different recipients (or a previous file that is not sops) mean a new file, by design.
    A previous file that cannot be read or opened raises ManifestkitError: the caller
    decides what that means (:func:`keep_unchanged_sops` warns and writes the new file).
    """
    if old == new:
        return True
    from manifestkit.secrets import sops  # the sops stack (cryptography, ruamel.yaml): only for sops Secrets

    recipients = _recipients(new, "<new>")
    if recipients is None or recipients != _recipients(old, name):
        return False
    before = sops.decrypt_bytes(old, "yaml", keys, name)
    after = sops.decrypt_bytes(new, "yaml", keys, "<new>")
    return bool(before.tree == after.tree)


def _not_compared(path: Path, exc: ManifestkitError) -> Diagnostic:
    why = exc.diagnostics[0].message if exc.diagnostics else "unknown problem"
    return Diagnostic(
        message=f"the previous sops file cannot be compared, so it is rewritten with new ciphertext: {why}",
        file=display_path(path),
        hint=_KEY_HINT,
        severity=WARNING,
    )


def keep_unchanged_sops(target: Path, files: Mapping[str, OutFile],
                        keys: SopsKeys) -> tuple[dict[str, OutFile], list[Diagnostic]]:
    """``files`` where each sops-encrypted Secret whose content did not change since the last
    render keeps the previous file's bytes, and a warning for each previous file that could
    not be compared."""
    out = dict(files)
    warnings: list[Diagnostic] = []
    for rel, new in files.items():
        path = target / rel
        if SOPS_MARK not in new.data or not path.is_file():
            continue
        old = path.read_bytes()
        try:
            same = same_sops_content(old, new.data, keys, display_path(path))
        except ManifestkitError as exc:   # deliberate: warned below, the new file is written
            warnings.append(_not_compared(path, exc))
            continue
        if same:
            out[rel] = OutFile(old, new.mode)   # the old bytes: the new objects are not what they hold
    return out, warnings


def reuse_unchanged_sops(target: Path, files: Mapping[str, OutFile], project: Project,
                         options: Options) -> dict[str, OutFile]:
    """:func:`keep_unchanged_sops` with the Project's keys; warnings go to stderr. A key
    setting that cannot be read (a malformed age key file) is an error, as anywhere else."""
    if not target.is_dir() or not any(SOPS_MARK in f.data for f in files.values()):
        return dict(files)
    kept, warnings = keep_unchanged_sops(target, files, sops_keys(project, options.environ))
    for warning in warnings:
        print(f"manifestkit: {warning.format()}", file=sys.stderr)
    return kept
