"""Secret output modes: what a Secret holding references becomes in the rendered output.

One :class:`Mode` per name in :data:`MODES` (a literal registry, as pre-commit keeps its
languages). A mode converts one :class:`SecretJob` (a Secret whose values may hold refs)
into the objects that replace it:

- ``secret``: a Kubernetes Secret with the resolved values, always written as ``data``
  (base64), so a value's bytes never depend on YAML quoting;
- ``sops``: the same Secret encrypted sops-style (``encrypted_regex: ^(data|stringData)$``)
  for KSOPS or Flux;
- ``external-secret``: an ExternalSecret (external-secrets.io/v1beta1) that makes the Secret
  in the cluster, plus its SecretStore when one is configured;
- ``reference``: Argo CD Vault Plugin placeholders, left unresolved;
- ``vault-agent``: nothing here; the pods that use the Secret get the ``vault/agent``
  pattern (see :mod:`manifestkit.secrets.step`).

Resolved values stay :class:`~manifestkit.redact.SecretStr` until they are base64-encoded
into the Secret object, the one place they may be.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.model import Resource
from manifestkit.redact import SecretStr
from manifestkit.secrets import sops
from manifestkit.secrets.backends import Resolved
from manifestkit.secrets.refs import Ref, find_refs, substitute, to_avp, unparse
from manifestkit.writer import OutFile

SECRET_VERSION = "secret_version"   # Resource.extra key the checksum step reads
RESOLVED = "resolved"               # Resource.extra flag: plaintext values from refs (see hygiene)
SOPS_ENCRYPTED_REGEX = "^(data|stringData)$"
ESO_API_VERSION = "external-secrets.io/v1beta1"
AVP_PATH_ANNOTATION = "avp.kubernetes.io/path"

Resolver = Callable[[Ref, str], Resolved]    # (ref, origin "file:line") → value and version


class SecretJob(NamedTuple):
    """One Secret to convert. ``templates`` are values holding refs (plain text around them);
    ``plain`` are values without refs (plain text); ``encoded`` are ``data`` values without refs
    (base64 as written, possibly binary)."""

    resource: Resource
    templates: Mapping[str, str]
    plain: Mapping[str, str]
    encoded: Mapping[str, str]

    @property
    def refs(self) -> list[Ref]:
        return [ref for key in sorted(self.templates) for ref in find_refs(self.templates[key])]


class ModeContext(NamedTuple):
    """What a mode may use: the Project's ``spec.secrets``, the resolver, the environment."""

    settings: Mapping[str, Any]              # Project spec.secrets
    resolve: Resolver
    environ: Mapping[str, str]
    now: datetime | None = None              # sops ``lastmodified``; None = the clock


class Mode(NamedTuple):
    """``convert`` turns a job into the objects that replace the Secret; ``in_pod`` modes
    deliver the values inside the pods instead (the step rewrites those pods)."""

    convert: Callable[[SecretJob, ModeContext], list[Resource]]
    in_pod: bool = False


# ------------------------------------------------------------------ shared helpers


def _fail(job: SecretJob, message: str, hint: str = "") -> ManifestkitError:
    file, _, line = job.resource.origin.rpartition(":")
    return ManifestkitError([Diagnostic(f"{job.resource.ref()}: {message}", file=file or job.resource.origin,
                                        line=int(line) if line.isdigit() else 0, hint=hint)])


def _b64(text: str) -> str:
    """The one place a resolved value stops being a SecretStr: encoded into the Secret."""
    raw = text.reveal() if isinstance(text, SecretStr) else text
    return base64.b64encode(raw.encode("utf-8")).decode("ascii")


def version_token(parts: Iterable[str]) -> str:
    """A short hash of version metadata; changes when any part does, never holds a value."""
    return "sha256:" + hashlib.sha256("\n".join(sorted(parts)).encode("utf-8")).hexdigest()[:32]


def _resolve_all(job: SecretJob, ctx: ModeContext) -> tuple[dict[str, SecretStr], list[tuple[str, str]]]:
    """Every template resolved (as SecretStr), and (ref, version) for each ref."""
    versions: list[tuple[str, str]] = []

    def one(ref: Ref) -> str:
        found = ctx.resolve(ref, job.resource.origin)
        versions.append((ref.raw, found.version))
        return found.value

    values = {key: SecretStr(substitute(job.templates[key], one)) for key in sorted(job.templates)}
    return values, versions


def _versioned(job: SecretJob, versions: list[tuple[str, str]]) -> str | None:
    """A version for the checksum step only when every value comes from versioned refs
    (Vault KV v2, sops MAC); otherwise the checksum step falls back to its keyed HMAC."""
    if job.plain or job.encoded or not versions or any(not version for _, version in versions):
        return None
    return version_token([*(f"{k}:{v}" for k, v in job.templates.items()), *(f"{r}={v}" for r, v in versions)])


def resolved_secret(job: SecretJob, ctx: ModeContext) -> Resource:
    """The Secret with every value resolved, as ``data``."""
    values, versions = _resolve_all(job, ctx)
    obj = {key: value for key, value in job.resource.obj.items() if key not in ("data", "stringData")}
    data = {**job.encoded, **{k: _b64(v) for k, v in job.plain.items()}, **{k: _b64(v) for k, v in values.items()}}
    if data:
        obj["data"] = dict(sorted(data.items()))
    extra: dict[str, Any] = {k: v for k, v in job.resource.extra.items() if k not in ("output", "mirror")}
    version = _versioned(job, versions)
    if version is not None:
        extra[SECRET_VERSION] = version
    if job.templates:
        extra[RESOLVED] = True
    return job.resource._replace(obj=obj, extra=extra)


def _template_version(job: SecretJob) -> dict[str, Any]:
    """For modes that resolve nothing: the refs themselves are the version."""
    extra = {k: v for k, v in job.resource.extra.items() if k not in ("output", "mirror")}
    if job.templates and not job.plain and not job.encoded:
        extra[SECRET_VERSION] = version_token(f"{k}:{v}" for k, v in job.templates.items())
    return extra


# ------------------------------------------------------------------ secret


def to_secret(job: SecretJob, ctx: ModeContext) -> list[Resource]:
    return [resolved_secret(job, ctx)]


# ------------------------------------------------------------------ sops


def to_sops(job: SecretJob, ctx: ModeContext) -> list[Resource]:
    """The resolved Secret encrypted to ``spec.secrets.sops`` recipients.

    sops seals every value with a fresh IV under a fresh data key, so two renders of the
    same values differ in bytes (documented in docs/secrets.md).
    """
    config = ctx.settings.get("sops") or {}
    age = [str(r) for r in config.get("ageRecipients") or []]
    pgp = [str(f) for f in config.get("pgpFingerprints") or []]
    if not age and not pgp:
        raise _fail(job, "secrets output sops needs recipients, but spec.secrets.sops has no ageRecipients "
                         "or pgpFingerprints",
                    hint="add spec.secrets.sops.ageRecipients: [age1...] to manifestkit.yaml")
    plain = resolved_secret(job, ctx)
    from manifestkit.yamlio import k8s_order

    tree = k8s_order(plain.obj)   # the order the file is written in: sops' MAC covers document order
    try:
        sealed = sops.encrypt_tree(tree, age_recipients=age, pgp_fingerprints=pgp,
                                   gnupghome=ctx.environ.get("GNUPGHOME") or None,
                                   encrypted_regex=SOPS_ENCRYPTED_REGEX, now=ctx.now)
    except ManifestkitError as exc:
        raise _fail(job, f"cannot encrypt for sops: {exc.diagnostics[0].message}",
                    hint=exc.diagnostics[0].hint) from None
    extra = {k: v for k, v in plain.extra.items() if k != RESOLVED}
    return [plain._replace(obj=sealed, extra={**extra, "sops": True})]


# ------------------------------------------------------------------ external-secret


def _only_vault(job: SecretJob, mode: str) -> None:
    others = sorted({ref.raw for ref in job.refs if ref.scheme != "vault"})
    if others:
        raise _fail(job, f"secrets output {mode} reads only Vault, but found {', '.join(others)}",
                    hint="set `output: secret` or `output: sops` on this Secret, or move the values to Vault")


def _eso_key(ref: Ref) -> str:
    """ESO's Vault provider takes ``mount/path`` and adds KV v2's ``data/`` itself."""
    mount, _, rest = ref.path.strip("/").partition("/")
    return f"{mount}/{rest.removeprefix('data/')}" if rest else mount


def _remote_ref(ref: Ref) -> dict[str, str]:
    remote = {"key": _eso_key(ref)}
    if ref.key:
        remote["property"] = ".".join(ref.key)
    if ref.version:
        remote["version"] = ref.version
    return remote


def _go_literal(text: str) -> str:
    """Text safe inside a Go template (ESO and consul-template): ``{{`` written as an action."""
    return text.replace("{{", "{{ `{{` }}")


def store_ref(settings: Mapping[str, Any]) -> dict[str, str]:
    eso = settings.get("externalSecrets") or {}
    store = eso.get("store") or eso.get("storeRef") or {}
    return {"name": str(store.get("name", "vault")), "kind": str(store.get("kind", "SecretStore"))}


def to_external_secret(job: SecretJob, ctx: ModeContext) -> list[Resource]:
    """An ExternalSecret whose target is the Secret; embedded refs use ``target.template``."""
    _only_vault(job, "external-secret")
    secret = job.resource.obj
    meta = dict(secret.get("metadata") or {})
    data: list[dict[str, Any]] = []
    template: dict[str, str] = {}
    for key in sorted(job.templates):
        text = job.templates[key]
        refs = find_refs(text)
        if len(refs) == 1 and refs[0].raw == text:
            data.append({"secretKey": key, "remoteRef": _remote_ref(refs[0])})
            continue
        parts, pos = [], 0
        for index, ref in enumerate(refs):
            var = f"{key.replace('.', '_').replace('-', '_')}_{index}"
            data.append({"secretKey": var, "remoteRef": _remote_ref(ref)})
            parts += [_go_literal(text[pos:ref.start]), f"{{{{ .{var} }}}}"]
            pos = ref.end
        template[key] = "".join([*parts, _go_literal(text[pos:])])
    for key, value in job.plain.items():
        template[key] = _go_literal(value)
    for key, value in job.encoded.items():
        template[key] = _go_literal(base64.b64decode(value).decode("utf-8", "replace"))
    target: dict[str, Any] = {"name": meta["name"], "creationPolicy": "Owner"}
    if template or secret.get("type", "Opaque") != "Opaque":
        target["template"] = {"engineVersion": "v2", "type": secret.get("type", "Opaque"),
                              **({"data": dict(sorted(template.items()))} if template else {})}
    eso = ctx.settings.get("externalSecrets") or {}
    spec: dict[str, Any] = {"refreshInterval": str(eso.get("refreshInterval", "1h")),
                            "secretStoreRef": store_ref(ctx.settings), "target": target}
    if data:
        spec["data"] = data
    obj = {"apiVersion": ESO_API_VERSION, "kind": "ExternalSecret", "metadata": meta, "spec": spec}
    out = [job.resource._replace(obj=obj, extra=_template_version(job))]
    store = _secret_store(eso.get("store"), meta.get("namespace"))
    if store is not None:
        out.append(Resource(store, job.resource.app, job.resource.origin))
    return out


def _secret_store(store: Mapping[str, Any] | None, namespace: str | None) -> dict[str, Any] | None:
    """The configured SecretStore (per namespace) or ClusterSecretStore (once)."""
    if not store or "provider" not in store:
        return None
    kind = str(store.get("kind", "SecretStore"))
    meta: dict[str, Any] = {"name": str(store.get("name", "vault"))}
    if kind == "SecretStore" and namespace:
        meta["namespace"] = namespace
    return {"apiVersion": ESO_API_VERSION, "kind": kind, "metadata": meta,
            "spec": {"provider": dict(store["provider"])}}


# ------------------------------------------------------------------ reference (Argo CD Vault Plugin)


def to_reference(job: SecretJob, ctx: ModeContext) -> list[Resource]:
    """Refs rewritten as AVP placeholders. When every ref shares one path and none pins a
    version, the path goes to ``avp.kubernetes.io/path`` and placeholders are ``<key>``."""
    _only_vault(job, "reference")
    refs = job.refs
    paths = {ref.path for ref in refs}
    short = len(paths) == 1 and all(len(r.key) == 1 and not r.query for r in refs)

    def placeholder(ref: Ref) -> str:
        try:
            return f"<{ref.key[0]}>" if short else to_avp(ref)
        except ValueError as exc:
            raise _fail(job, str(exc)) from None

    secret = job.resource.obj
    obj: dict[str, Any] = {k: v for k, v in secret.items() if k not in ("data", "stringData")}
    if job.encoded:
        obj["data"] = dict(sorted(job.encoded.items()))
    string_data = {**job.plain, **{k: str(substitute(v, placeholder)) for k, v in job.templates.items()}}
    if string_data:
        obj["stringData"] = dict(sorted(string_data.items()))
    if short:
        meta = dict(secret.get("metadata") or {})
        meta["annotations"] = {**(meta.get("annotations") or {}), AVP_PATH_ANNOTATION: next(iter(paths))}
        obj["metadata"] = meta
    return [job.resource._replace(obj=obj, extra=_template_version(job))]


# ------------------------------------------------------------------ vault-agent


def to_vault_agent(job: SecretJob, ctx: ModeContext) -> list[Resource]:
    """Nothing is emitted for the Secret: the step gives the pods that use it a Vault agent."""
    _only_vault(job, "vault-agent")
    return []


MODES: dict[str, Mode] = {
    "secret": Mode(to_secret),
    "sops": Mode(to_sops),
    "vault-agent": Mode(to_vault_agent, in_pod=True),
    "external-secret": Mode(to_external_secret),
    "reference": Mode(to_reference),
}


def describe_ref(ref: Ref) -> str:
    return ref.raw or unparse(ref)


# ------------------------------------------------------------------ sops: stable bytes across renders


def _recipients(data: bytes) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(age recipients, PGP fingerprints) of a sops YAML document, or None if it is not one."""
    import yaml

    try:
        doc = yaml.safe_load(data)
    except yaml.YAMLError:
        return None
    meta = doc.get("sops") if isinstance(doc, dict) else None
    if not isinstance(meta, dict):
        return None
    return (tuple(sorted(str(a.get("recipient")) for a in meta.get("age") or [])),
            tuple(sorted(str(p.get("fp")) for p in meta.get("pgp") or [])))


def same_sops_content(old: bytes, new: bytes, keys: sops.SopsKeys) -> bool:
    """Whether two sops YAML documents hold the same content for the same recipients.

    False whenever either cannot be opened (no key, tampered, not sops): then the new
    file is written, which is always safe.
    """
    if old == new:
        return True
    recipients = _recipients(new)
    if recipients is None or recipients != _recipients(old):
        return False
    try:
        before = sops.decrypt_bytes(old, "yaml", keys, "<previous>")
        after = sops.decrypt_bytes(new, "yaml", keys, "<new>")
    except ManifestkitError:
        return False
    return bool(before.tree == after.tree)


def keep_unchanged_sops(target: Path, files: Mapping[str, OutFile], keys: sops.SopsKeys) -> dict[str, OutFile]:
    """``files`` where each sops-encrypted Secret whose content did not change since the last
    render keeps the previous file's bytes, so `render --check` and git see no change.

    sops seals every value with a fresh IV under a fresh data key; reusing the previous
    file needs a key that opens it (SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, ageKeyFile, gpg).
    """
    out = dict(files)
    for rel, new in files.items():
        path = target / rel
        if b"\nsops:\n" not in new.data or not path.is_file():
            continue
        old = path.read_bytes()
        if same_sops_content(old, new.data, keys):
            out[rel] = new._replace(data=old)
    return out
