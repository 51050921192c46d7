"""The secret backends: one function per ref scheme, found through :data:`BACKENDS`.

A backend turns a :class:`~manifestkit.secrets.refs.Ref` into a :class:`Resolved` value.
Everything a backend may touch (project root, environment, Vault reader, sops keys, the
per-run cache of decrypted sops files) arrives in the :class:`BackendContext`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from manifestkit.diagnostics import Diagnostic, ManifestkitError, display_path, error, one_of
from manifestkit.model import Source
from manifestkit.redact import SecretStr
from manifestkit.secrets.jobs import Resolved
from manifestkit.secrets.refs import Ref, unparse
from manifestkit.secrets.vault import VaultReader, lookup_key
from manifestkit.yamlio import load_documents

if TYPE_CHECKING:   # the sops stack (cryptography, ruamel.yaml) is imported by the first sops reference
    from manifestkit.secrets import sops

__all__ = ["BACKENDS", "Backend", "BackendContext", "Resolved", "backend_context", "resolve"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BackendContext:
    root: Path
    environ: Mapping[str, str]
    vault: VaultReader | None
    sops_keys: sops.SopsKeys
    source: Source  # where the reference was written, for error messages
    sops_files: MutableMapping[Path, sops.SopsDocument | None]  # decrypted once per run; None: failed, reported once
    env_allow: tuple[str, ...] = ()  # spec.secrets.env.allow: names, or prefixes ending in "*"


class Backend(Protocol):
    def __call__(self, ref: Ref, ctx: BackendContext) -> Resolved: ...


def backend_context(
    root: Path,
    environ: Mapping[str, str],
    vault: VaultReader | None,
    sops_keys: sops.SopsKeys,
    source: Source | None = None,
    env_allow: Sequence[str] = (),
) -> BackendContext:
    """A context for one run, with an empty sops cache; use ``dataclasses.replace(ctx, source=...)`` per ref."""
    return BackendContext(root=root, environ=environ, vault=vault, sops_keys=sops_keys, source=source or Source(),
                          sops_files={}, env_allow=tuple(env_allow))


def resolve(ref: Ref, ctx: BackendContext) -> Resolved:
    """The value of ``ref``; errors carry ``ctx.source`` (file and line) as their location."""
    backend = BACKENDS.get(ref.scheme)
    try:
        if backend is None:
            raise error(f"{_show(ref)}: unknown reference scheme {ref.scheme!r}; expected one of: {one_of(BACKENDS)}")
        return backend(ref, ctx)
    except ManifestkitError as exc:
        where = ctx.source
        raise ManifestkitError(
            d if d.file else dataclasses.replace(d, file=where.file, line=where.line or d.line) for d in exc.diagnostics
        ) from None


def resolve_vault(ref: Ref, ctx: BackendContext) -> Resolved:
    if ctx.vault is None:
        raise error(
            f"{_show(ref)}: found a Vault reference but Vault is not configured",
            hint="set VAULT_ADDR, or spec.secrets.vault.address in manifestkit.yaml",
        )
    secret = ctx.vault.read(ref.path, ref.version)
    return Resolved(lookup_key(secret, ref.key), secret.version)


def resolve_sops(ref: Ref, ctx: BackendContext) -> Resolved:
    from manifestkit.secrets import sops

    path = _inside_root(ref, ctx.root)
    if path not in ctx.sops_files:
        ctx.sops_files[path] = None   # until it opens: a file that fails is reported at its first ref only
        try:
            ctx.sops_files[path] = sops.decrypt_file(path, ctx.sops_keys)
        except ManifestkitError as exc:
            raise _at_ref(ref, path, exc) from None
    doc = ctx.sops_files[path]
    if doc is None:
        raise ManifestkitError([])   # already reported, at the first ref to this file
    try:
        value = sops.lookup(doc, ref.key)
    except ManifestkitError as exc:
        raise _at_ref(ref, path, exc) from None
    return Resolved(sops.printed(value, doc.fmt), doc.mac)


def _at_ref(ref: Ref, path: Path, exc: ManifestkitError) -> ManifestkitError:
    """A sops file's problems at the App line that refers to it (``resolve`` adds it), naming the
    file as the ref does; one at a line of the encrypted file itself stays there."""
    def one(d: Diagnostic) -> Diagnostic:
        if d.line:
            return Diagnostic(message=d.message, file=display_path(path), line=d.line, column=d.column,
                              path=d.path, hint=d.hint, severity=d.severity, rule=d.rule)
        inside = f" at {d.path}" if d.path else ""
        return Diagnostic(message=f"{_show(ref)}: '{ref.path}'{inside}: {d.message}", hint=d.hint,
                          severity=d.severity, rule=d.rule)
    return ManifestkitError(one(d) for d in exc.diagnostics)


def resolve_env(ref: Ref, ctx: BackendContext) -> Resolved:
    if not env_allowed(ref.path, ctx.env_allow):
        declared = one_of(ctx.env_allow) if ctx.env_allow else "none declared"
        raise error(
            f"{_show(ref)}: environment variable {ref.path!r} is not in the project's spec.secrets.env.allow "
            f"({declared}); a project may copy only the variables it declares into a Secret",
            hint=f"add '{ref.path}' (or a prefix such as '{ref.path.split('_')[0]}_*') to spec.secrets.env.allow "
                 f"in manifestkit.yaml",
        )
    if ref.path not in ctx.environ:
        raise error(f"{_show(ref)}: environment variable {ref.path!r} is not set")
    return Resolved(SecretStr(ctx.environ[ref.path]), "")


def resolve_file(ref: Ref, ctx: BackendContext) -> Resolved:
    path = _inside_root(ref, ctx.root)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise error(f"{_show(ref)}: cannot read '{ref.path}': {exc.strerror}") from None
    except UnicodeDecodeError as exc:   # say where, never what: the file is secret
        raise error(f"{_show(ref)}: '{ref.path}' is not UTF-8 text (byte {exc.start + 1})",
                    hint="store binary secrets base64-encoded, or re-save the file as UTF-8") from None
    if not ref.key:
        return Resolved(SecretStr(text), "")
    not_yaml = error(f"{_show(ref)}: '{ref.path}' is not YAML or JSON, so it has no key '/{'/'.join(ref.key)}'")
    try:
        docs = load_documents(text, ref.path)  # JSON is YAML too; duplicate keys and alias bombs are refused
    except ManifestkitError:
        raise not_yaml from None   # not the loader's message: it may quote the file, which is secret
    if len(docs) > 1:
        raise not_yaml
    tree = docs[0].data if docs else None
    value = _descend(ref, tree, ref.key)
    if not isinstance(value, (str, int, float, bool, list, dict)) and value is not None:
        raise error(f"{_show(ref)}: the value at '/{'/'.join(ref.key)}' in '{ref.path}' is a YAML "
                    f"{type(value).__name__}; expected a string",
                    hint="quote the value in the file, so that YAML reads it as a string")
    return Resolved(_secret(value), "")


def env_allowed(name: str, allow: Sequence[str]) -> bool:
    """Is ``name`` listed in ``allow``, by name or by a prefix ending in ``*``?"""
    return any(name == entry or (entry.endswith("*") and name.startswith(entry[:-1])) for entry in allow)


BACKENDS: dict[str, Backend] = {
    "env": resolve_env,
    "file": resolve_file,
    "sops": resolve_sops,
    "vault": resolve_vault,
}


def _inside_root(ref: Ref, root: Path) -> Path:
    base = root.resolve()
    path = (base / ref.path).resolve()
    if not path.is_relative_to(base):
        raise error(
            f"{_show(ref)}: path '{ref.path}' leaves the project folder; "
            f"expected a path inside '{root}'"
        )
    return path


def _descend(ref: Ref, tree: Any, key: Sequence[str]) -> Any:
    from manifestkit.secrets import sops

    def missing(depth: int, node: Any) -> Exception:
        where = "/" + "/".join(key[:depth])
        found = f"keys: {one_of(map(str, node))}" if isinstance(node, dict) else f"a {type(node).__name__}"
        return error(f"{_show(ref)}: no key '{key[depth]}' under '{where}' in '{ref.path}'; found {found}")
    return sops.descend(tree, key, missing)


def _secret(value: Any) -> SecretStr:
    if isinstance(value, str):
        return SecretStr(value)
    return SecretStr(json.dumps(value, sort_keys=True, default=str))


def _show(ref: Ref) -> str:
    return ref.raw or unparse(ref)
