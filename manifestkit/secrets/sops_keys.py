"""Where sops data keys come from: age identities and GNUPGHOME, found where sops looks for them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import pyrage

from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.model import Project
from manifestkit.redact import SecretStr
from manifestkit.secrets.sops_tree import fail_at


class SopsKeys(NamedTuple):
    """What may open a sops file. ``sources`` says where identities were looked for (for hints)."""

    age_identities: tuple[str, ...] = ()
    gnupghome: str | None = None
    use_binary: bool = False
    sources: tuple[str, ...] = ()



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
        raise fail_at(f"cannot read age key file: {exc.__class__.__name__}", str(path)) from None


def _parse_identities(text: str, where: str) -> list[str]:
    found = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            pyrage.x25519.Identity.from_str(line)
        except Exception:  # pyrage raises its own IdentityError or ValueError; the line itself is secret
            raise ManifestkitError(
                [
                    Diagnostic(
                        message="not an age identity (AGE-SECRET-KEY-1...)",
                        file=where,
                        line=number,
                        hint="age plugin and SSH identities are not supported",
                    )
                ]
            ) from None
        found.append(line)
    return found



def age_key_file(project: Project) -> str | None:
    """``spec.secrets.sops.ageKeyFile``, relative to the project folder unless absolute or ``~``."""
    configured = ((project.spec.get("secrets") or {}).get("sops") or {}).get("ageKeyFile")
    if not configured:
        return None
    text = str(configured)
    return text if text.startswith("~") or Path(text).is_absolute() else str(project.root / text)


def sops_keys(project: Project, environ: Mapping[str, str]) -> SopsKeys:
    """Where sops data keys come from; ``spec.secrets.sops.useBinary: true`` hands decryption
    to a `sops` binary on PATH instead (for key sources we do not read natively, e.g. cloud KMS)."""
    config = (project.spec.get("secrets") or {}).get("sops") or {}
    keys = keys_from_env(environ, age_key_file(project))
    return keys._replace(use_binary=bool(config.get("useBinary", False)))
