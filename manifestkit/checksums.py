"""The checksum step: restart pods when the ConfigMaps and Secrets they use change.

Every pod template that references a ConfigMap or Secret of the render (volumes, projected
sources, ``envFrom``, ``env[].valueFrom`` in every container and init container) gets
``manifestkit.dev/config-checksum: sha256:<hex>``. The hash covers data only, never
metadata or labels, so a label or chart-version change restarts nothing. A volume that a
config reloader in the pod watches (``sidecar/config-reloader``) does not count: the
reloader applies its changes live, and a restart would defeat it.

The hashed text is :func:`go_json` of ``{"ConfigMap/<name>": {"data": ..., "binaryData": ...},
"Secret/<name>": "<token>"}``: the same bytes Helm's ``toJson`` writes for that map, so a
Helm chart can compute the same annotation with ``sha256sum`` (see docs/checksums.md).

A Secret never counts through its plaintext: its token is the version metadata the secrets
step left in ``Resource.secret_version`` (Vault KV version, sops MAC), else an
HMAC-SHA256 of its data keyed by the environment variable named in
``spec.checksums.hmacKeyEnv``, else only its type (documented: such a Secret does not
restart pods when its values change).

With ``spec.checksums.mode: reloader`` pods get Stakater Reloader annotations instead;
``mode: none`` turns the step off.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from manifestkit.diagnostics import Diagnostic, ManifestkitError, did_you_mean, one_of
from manifestkit.kinds import containers, pod_template, template_path, with_pod_template
from manifestkit.model import RenderContext, Resource

ANNOTATION = "manifestkit.dev/config-checksum"
RELOADER_CONFIGMAPS = "configmap.reloader.stakater.com/reload"
RELOADER_SECRETS = "secret.reloader.stakater.com/reload"
CONFIG_KINDS = ("ConfigMap", "Secret")
DATA_KEYS = ("binaryData", "data")

Ref = tuple[str, str]                 # (kind, name)


def add_checksums(resources: list[Resource], ctx: RenderContext) -> list[Resource]:
    """Pipeline step: annotate every pod template that uses config of this render, as
    ``spec.checksums.mode`` says (:data:`MODES`)."""
    settings = ctx.project.spec.get("checksums") or {}
    mode = str(settings.get("mode", DEFAULT_MODE))
    if mode not in MODES:
        raise ManifestkitError(
            [
                Diagnostic(
                    message=f"spec.checksums.mode: unknown checksum mode {mode!r}; expected one of: {one_of(MODES)}",
                    file=ctx.project.file,
                    hint=did_you_mean(mode, list(MODES)),
                )
            ]
        )
    return MODES[mode](resources, ctx)


def checksum_annotations(resources: list[Resource], ctx: RenderContext) -> list[Resource]:
    """Mode ``annotation``: ``manifestkit.dev/config-checksum`` on every pod template that uses config."""
    settings = ctx.project.spec.get("checksums") or {}
    configs = {(r.kind, r.namespace, r.name): r for r in resources if r.kind in CONFIG_KINDS}
    unversioned = any(r.kind == "Secret" and r.secret_version is None for r in configs.values())
    key = hmac_key(settings.get("hmacKeyEnv"), ctx.options.environ, ctx.project.file) if unversioned else None
    out = []
    for resource in resources:
        used = [configs[(kind, resource.namespace, name)] for kind, name in referenced(resource.obj, skip_watched=True)
                if (kind, resource.namespace, name) in configs]
        value = checksum(hash_input(used, key)) if used else None
        out.append(_with_annotations(resource, {ANNOTATION: value} if value else {}))
    return out


def hmac_key(env_name: str | None, environ: Mapping[str, str], file: str = "") -> bytes | None:
    """The HMAC key from the environment variable ``env_name`` (None when not configured)."""
    if not env_name:
        return None
    value = environ.get(env_name)
    if not value:
        raise ManifestkitError([Diagnostic(
            message=f"spec.checksums.hmacKeyEnv names {env_name!r}, which is not set; the Secret checksums need it",
            file=file, hint=f"export {env_name}=<a key kept outside the repository> (the same in CI and locally)")])
    return value.encode("utf-8")


def reloader_mode(resources: list[Resource], ctx: RenderContext) -> list[Resource]:
    """Mode ``reloader``: Stakater Reloader annotations on every workload that uses config."""
    return [_with_annotations(r, reloader_annotations(referenced(r.obj, skip_watched=True))) for r in resources]


def no_checksums(resources: list[Resource], ctx: RenderContext) -> list[Resource]:
    """Mode ``none``: the step does nothing."""
    return resources


# The checksum modes by ``spec.checksums.mode`` name; the Project schema's enum is filled from it.
MODES: dict[str, Callable[[list[Resource], RenderContext], list[Resource]]] = {
    "annotation": checksum_annotations,
    "reloader": reloader_mode,
    "none": no_checksums,
}
DEFAULT_MODE = "annotation"


# ------------------------------------------------------------------ references

def referenced(obj: Mapping[str, Any], skip_watched: bool = False) -> list[Ref]:
    """The ConfigMaps and Secrets a workload's pod template uses, sorted, without repeats;
    with ``skip_watched``, not those only a config reloader's volume brings in."""
    template = pod_template(obj)
    if template is None:
        return []
    return sorted(set(_pod_refs(template.get("spec") or {}, skip_watched)))


# Flags of config reloaders (configmap-reload, prometheus-config-reloader) naming the folder they watch.
RELOADER_FLAGS = ("--volume-dir=", "--watched-dir=")


def watched_volumes(pod: Mapping[str, Any]) -> frozenset[str]:
    """Volumes a config reloader in the pod watches (``sidecar/config-reloader``): their changes
    are applied live, so they must not restart the pod through the checksum."""
    out: set[str] = set()
    for _, _, container in containers(pod):
        args = [str(a) for a in (*(container.get("command") or []), *(container.get("args") or []))]
        folders = {a.split("=", 1)[1].rstrip("/") for a in args if a.startswith(RELOADER_FLAGS)}
        out.update(str(m.get("name")) for m in container.get("volumeMounts") or []
                   if isinstance(m, Mapping) and str(m.get("mountPath", "")).rstrip("/") in folders)
    return frozenset(out)


def _pod_refs(pod: Mapping[str, Any], skip_watched: bool = False) -> Iterator[Ref]:
    volumes = [v for v in pod.get("volumes") or [] if any(field in v for field in _VOLUME_FIELDS)]
    watched = watched_volumes(pod) if skip_watched and volumes else frozenset()
    for volume in volumes:
        if volume.get("name") not in watched:
            yield from _volume_refs(volume)
    for _, _, container in containers(pod):
        yield from _container_refs(container)


_VOLUME_FIELDS = ("configMap", "secret", "projected")    # a volume with none of these brings no config in


def _volume_refs(volume: Mapping[str, Any]) -> Iterator[Ref]:
    # https://kubernetes.io/docs/concepts/storage/volumes/#configmap and #secret, #projected
    if isinstance(volume.get("configMap"), Mapping) and volume["configMap"].get("name"):
        yield "ConfigMap", str(volume["configMap"]["name"])
    if isinstance(volume.get("secret"), Mapping) and volume["secret"].get("secretName"):
        yield "Secret", str(volume["secret"]["secretName"])
    for source in (volume.get("projected") or {}).get("sources") or []:
        for field, kind in (("configMap", "ConfigMap"), ("secret", "Secret")):
            if isinstance(source.get(field), Mapping) and source[field].get("name"):
                yield kind, str(source[field]["name"])


def _container_refs(container: Mapping[str, Any]) -> Iterator[Ref]:
    for source in container.get("envFrom") or []:
        for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            if isinstance(source.get(field), Mapping) and source[field].get("name"):
                yield kind, str(source[field]["name"])
    for var in container.get("env") or []:
        value_from = var.get("valueFrom") if isinstance(var, Mapping) else None
        for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
            if isinstance(value_from, Mapping) and isinstance(value_from.get(field), Mapping) \
                    and value_from[field].get("name"):
                yield kind, str(value_from[field]["name"])


# ------------------------------------------------------------------ hashing

def config_entry(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What of a ConfigMap counts: ``data`` and ``binaryData`` only."""
    return {key: dict(obj[key]) for key in DATA_KEYS if obj.get(key)}


def secret_token(resource: Resource, key: bytes | None) -> str:
    """What of a Secret counts: its version, else a keyed HMAC of type and data, else its type.

    Never a bare hash of the values: a low-entropy value could be found by hashing guesses.
    """
    obj = resource.obj
    kind = str(obj.get("type", "Opaque"))
    version = resource.secret_version
    if version is not None:
        return f"version:{kind}:{version}"
    if key is not None:
        content = {"type": kind, **{k: dict(obj[k]) for k in ("data", "stringData", "binaryData") if obj.get(k)}}
        return "hmac-sha256:" + hmac.new(key, go_json(content).encode("utf-8"), hashlib.sha256).hexdigest()
    return f"unversioned:{kind}"


def hash_input(used: list[Resource], key: bytes | None) -> dict[str, Any]:
    """The map that is hashed: ``Kind/name`` → data (ConfigMap) or token (Secret)."""
    return {f"{r.kind}/{r.name}": config_entry(r.obj) if r.kind == "ConfigMap" else secret_token(r, key)
            for r in used}


def go_json(value: Any) -> str:
    """JSON exactly as Go's ``encoding/json`` (Helm's ``toJson``) writes it: sorted keys, no
    spaces, ``<``, ``>``, ``&``, U+2028 and U+2029 escaped."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


def checksum(value: Any) -> str:
    """``sha256:<hex>`` of :func:`go_json` of ``value`` (Helm: ``toJson | sha256sum``)."""
    return "sha256:" + hashlib.sha256(go_json(value).encode("utf-8")).hexdigest()


# ------------------------------------------------------------------ annotations

def reloader_annotations(refs: list[Ref]) -> dict[str, str]:
    """Stakater Reloader's per-resource annotations (https://github.com/stakater/Reloader)."""
    out = {}
    for kind, key in (("ConfigMap", RELOADER_CONFIGMAPS), ("Secret", RELOADER_SECRETS)):
        names = [name for k, name in refs if k == kind]
        if names:
            out[key] = ",".join(names)
    return out


def _with_annotations(resource: Resource, annotations: Mapping[str, str]) -> Resource:
    """The resource with ``annotations`` on its pod template (Reloader reads the workload's
    own metadata, so Reloader keys go there)."""
    if not annotations or _has_annotations(resource.obj, annotations):
        return resource
    obj = resource.obj
    if any(key.endswith("reloader.stakater.com/reload") for key in annotations):
        meta = dict(obj.get("metadata") or {})
        meta["annotations"] = {**(meta.get("annotations") or {}), **annotations}
        return resource.replace_obj({**obj, "metadata": meta})
    template = pod_template(obj) or {}
    meta = dict(template.get("metadata") or {})
    meta["annotations"] = {**(meta.get("annotations") or {}), **annotations}
    return resource.replace_obj(with_pod_template(obj, {**template, "metadata": meta}))


def _has_annotations(obj: Mapping[str, Any], annotations: Mapping[str, str]) -> bool:
    """Whether :func:`_with_annotations` would give back an object equal to ``obj`` in value and type: its pod
    template (or, for Reloader, its own metadata) already holds each of ``annotations`` (a render cache entry's
    object does), every dict on the way a dict."""
    if any(key.endswith("reloader.stakater.com/reload") for key in annotations):
        nodes: list[Any] = [obj, obj.get("metadata")]
    else:
        path = template_path(obj.get("kind"))
        if path is None:
            return False
        nodes = [obj]
        for key in path:
            nodes.append(nodes[-1].get(key) if type(nodes[-1]) is dict else None)
        nodes.append(nodes[-1].get("metadata") if type(nodes[-1]) is dict else None)
    have = nodes[-1].get("annotations") if type(nodes[-1]) is dict else None
    return all(type(node) is dict for node in nodes) and type(have) is dict \
        and all(type(have.get(key)) is str and have[key] == value for key, value in annotations.items())
