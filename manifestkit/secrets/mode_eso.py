"""Secret output ``external-secret``: an ExternalSecret (external-secrets.io/v1beta1) making the Secret in the
cluster, plus its SecretStore."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from manifestkit.model import Resource
from manifestkit.secrets.go_templates import literal
from manifestkit.secrets.jobs import ModeContext, SecretJob, only_vault
from manifestkit.secrets.mode_secret import settled, template_version
from manifestkit.secrets.refs import Ref, find_refs

ESO_API_VERSION = "external-secrets.io/v1beta1"


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


def store_ref(settings: Mapping[str, Any]) -> dict[str, str]:
    eso = settings.get("externalSecrets") or {}
    store = eso.get("store") or eso.get("storeRef") or {}
    return {"name": str(store.get("name", "vault")), "kind": str(store.get("kind", "SecretStore"))}


def to_external_secret(job: SecretJob, ctx: ModeContext) -> list[Resource]:
    """An ExternalSecret whose target is the Secret; embedded refs use ``target.template``."""
    only_vault(job, "external-secret")
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
            parts += [literal(text[pos:ref.start]), f"{{{{ .{var} }}}}"]
            pos = ref.end
        template[key] = "".join([*parts, literal(text[pos:])])
    for key, value in job.plain.items():
        template[key] = literal(value)
    for key, value in job.encoded.items():
        template[key] = literal(base64.b64decode(value).decode("utf-8", "replace"))
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
    out = [settled(job, obj, secret_version=template_version(job))]
    store = _secret_store(eso.get("store"), meta.get("namespace"))
    if store is not None:
        out.append(Resource(obj=store, app=job.resource.app, source=job.resource.source.derived()))
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
