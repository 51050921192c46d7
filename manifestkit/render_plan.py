"""What the emitters read, computed once before they run (base render, overlay image rules, keys,
opened sops Secrets), and the sealing of the values files they return."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from manifestkit.checksums import hmac_key
from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.emit import BASE, DumpKey, EmitInput, Emitted, Format, Memo, SecretKey
from manifestkit.emit.sops_layouts import is_sops_secret
from manifestkit.model import Options, Project, Resource
from manifestkit.overlay import settings_of
from manifestkit.pipeline import render_env
from manifestkit.secrets.sops_keys import sops_keys
from manifestkit.writer import OutFile

if TYPE_CHECKING:   # the sops stack is imported only by a render that opens or seals a sops Secret
    from manifestkit.secrets import sops


def emit_input(project: Project, fmt: Format, renders: Mapping[str, list[Resource]], options: Options,
               base: list[Resource] | None = None, dumped: Mapping[DumpKey, bytes] | None = None,
               memo: Memo | None = None) -> EmitInput:
    """The data ``fmt``'s emitter reads: the base render only when it needs it (``base``: already rendered), and
    the sops Secrets opened (with the project's keys) only for a format that opens them and when an environment
    has one; ``dumped``: objects' plain files already known."""
    if base is None:
        base = render_env(project, None, options) if fmt.needs_base else []
    opened: dict[SecretKey, Mapping[str, Any]] = {}
    if fmt.opens_sops and any(is_sops_secret(r) for rs in renders.values() for r in rs):
        keys = sops_keys(project, options.environ)
        opened = {key: open_secret(r, keys) for key, r in _sops_secrets({BASE: base, **renders}, project.name)}
    return EmitInput(project=project, renders=renders, base=base,
                     image_rules={env: settings_of(project.environments.get(env)).images for env in renders},
                     hmac_key=_hmac_key(project, options) if fmt.needs_hmac_key else None, opened=opened,
                     dumped=dumped or {}, memo=memo)


def emit(project: Project, fmt: Format, renders: Mapping[str, list[Resource]], options: Options,
         base: list[Resource] | None = None, dumped: Mapping[DumpKey, bytes] | None = None,
         memo: Memo | None = None) -> Emitted:
    """Run ``fmt``'s emitter on the data it needs (``memo``: apps' files an earlier render emitted), then seal the
    values files it returns."""
    emitted = fmt.emit(emit_input(project, fmt, renders, options, base, dumped, memo))
    if not emitted.to_seal:
        return emitted
    gnupghome = options.environ.get("GNUPGHOME") or None
    settings = project.spec.get("secrets") or {}
    sealed = {rel: sealed_values(values, settings, gnupghome) for rel, values in emitted.to_seal.items()}
    return Emitted(files={**emitted.files, **sealed}, scope=emitted.scope)


def _sops_secrets(versions: Mapping[str, Sequence[Resource]], project: str) -> list[tuple[SecretKey, Resource]]:
    """The Secrets a chart moves to helm-secrets values: those sops-encrypted in every version
    that has them (a chart's object is its app's kind/name across versions)."""
    def chart_object(r: Resource) -> tuple[str, str, str]:
        return (r.app or project, r.kind, r.name)
    mixed = {chart_object(r) for rs in versions.values() for r in rs if not is_sops_secret(r)}
    return [((version, r.app, r.namespace, r.name), r) for version, rs in versions.items() for r in rs
            if is_sops_secret(r) and chart_object(r) not in mixed]


def _hmac_key(project: Project, options: Options) -> bytes | None:
    settings = project.spec.get("checksums") or {}
    return hmac_key(settings.get("hmacKeyEnv"), options.environ, project.file) if settings.get("hmacKeyEnv") else None


def open_secret(resource: Resource, keys: sops.SopsKeys) -> dict[str, Any]:
    """The decrypted Secret (every string a SecretStr, no ``sops`` block); a key that opens it is needed."""
    from manifestkit.secrets import sops

    try:
        doc = sops.decrypt_bytes(sops.to_yaml(resource.obj).encode("utf-8"), "yaml", keys, resource.ref())
    except ManifestkitError as exc:  # each problem said of this Secret, with what to do about it
        raise ManifestkitError(
            [
                Diagnostic(
                    message=f"helm-secrets layout: cannot open {resource.ref()} to move its values into the secrets "
                    f"values file: {d.message}",
                    hint="set SOPS_AGE_KEY_FILE, SOPS_AGE_KEY or spec.secrets.sops.ageKeyFile (or gpg's GNUPGHOME) "
                    "to a key of the recipients, or use spec.secrets.sops.layout: flux",
                )
                for d in exc.diagnostics
            ]
        ) from None
    return dict(doc.tree)


def sealed_values(values: Mapping[str, Any], settings: Mapping[str, Any], gnupghome: str | None) -> OutFile:
    """A helm-secrets values file: ``values`` encrypted to the ``spec.secrets.sops``
    recipients, every value sealed (sops' default ``unencrypted_suffix`` rule)."""
    from manifestkit.secrets import sops

    config = settings.get("sops") or {}
    sealed = sops.encrypt_tree(values, age_recipients=[str(r) for r in config.get("ageRecipients") or []],
                               pgp_fingerprints=[str(f) for f in config.get("pgpFingerprints") or []],
                               gnupghome=gnupghome)
    return OutFile(sops.to_yaml(sealed).encode("utf-8"), 0o600)
