"""Env refs to a Secret: a ref in a container's ``env[].value`` moves into a generated Secret ``<app>-env``.

The key is the variable's name (``<container>.<NAME>`` when two containers disagree on a
value); the variable becomes a ``secretKeyRef``. One Secret per app and namespace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.kinds import CONTAINER_LISTS, containers, pod_template, with_pod_template
from manifestkit.model import Resource
from manifestkit.secrets.jobs import located
from manifestkit.secrets.refs import has_refs

ENV_SECRET_SUFFIX = "-env"


def env_secret_name(resource: Resource) -> str:
    return f"{resource.app or resource.name}{ENV_SECRET_SUFFIX}"


def _env_ref(var: Any) -> bool:
    return isinstance(var, Mapping) and isinstance(var.get("value"), str) and has_refs(var["value"])


def _moved_env(container: Mapping[str, Any], secret: str, keys: dict[str, str]) -> dict[str, Any]:
    """The container with each ref-holding env value replaced by a secretKeyRef; ``keys``
    collects ``secret key → value text`` (a clash of names gets ``<container>.<NAME>``)."""
    env = []
    for var in container.get("env") or []:
        if not _env_ref(var):
            env.append(var)
            continue
        key = str(var["name"])
        if keys.get(key, var["value"]) != var["value"]:
            key = f"{container.get('name')}.{key}"
        keys[key] = var["value"]
        env.append({"name": var["name"], "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
    return {**container, "env": env}


def _env_moved(resource: Resource, keys: dict[str, str]) -> Resource:
    template = pod_template(resource.obj) or {}
    spec = dict(template.get("spec") or {})
    secret = env_secret_name(resource)
    for field in CONTAINER_LISTS:
        if any(_env_ref(v) for c in spec.get(field) or [] for v in c.get("env") or []):
            spec[field] = [_moved_env(c, secret, keys) for c in spec[field]]
    return resource.replace_obj(with_pod_template(resource.obj, {**template, "spec": spec}))


def _env_secret(workload: Resource, keys: Mapping[str, str]) -> Resource:
    meta = workload.obj.get("metadata") or {}
    new_meta: dict[str, Any] = {"name": env_secret_name(workload)}
    if meta.get("namespace"):
        new_meta["namespace"] = meta["namespace"]
    if meta.get("labels"):
        new_meta["labels"] = dict(meta["labels"])
    obj = {"apiVersion": "v1", "kind": "Secret", "metadata": new_meta, "type": "Opaque",
           "stringData": dict(sorted(keys.items()))}
    return Resource(obj=obj, app=workload.app, source=workload.source.derived())


def env_refs_to_secrets(resources: Sequence[Resource]) -> list[Resource]:
    """Workloads with env refs rewritten, plus one generated Secret per app and namespace."""
    out: list[Resource] = []
    generated: dict[tuple[str, str], tuple[Resource, dict[str, str]]] = {}
    for resource in resources:
        template = pod_template(resource.obj)
        spec = (template or {}).get("spec") or {}
        if not any(_env_ref(v) for _, _, c in containers(spec) for v in c.get("env") or []):
            out.append(resource)
            continue
        slot = (resource.namespace, env_secret_name(resource))
        _, keys = generated.setdefault(slot, (resource, {}))
        out.append(_env_moved(resource, keys))
    taken = {(r.namespace, r.name): r for r in out if r.kind == "Secret"}
    clashes = [Diagnostic(message=f"{taken[slot].ref()}: the name is also the generated Secret for env references of "
                          f"{workload.ref()}", hint="rename the Secret in `secrets:`", **located(taken[slot]))
               for slot, (workload, _) in generated.items() if slot in taken]
    if clashes:
        raise ManifestkitError(clashes)
    return [*out, *(_env_secret(workload, keys) for workload, keys in generated.values())]
