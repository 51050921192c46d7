"""`--format kustomize`: ``base/`` (the render with no overlays) and ``overlays/<env>/``.

Each overlay lists ``../../base`` and uses Kustomize's own transformers where they give
exactly the environment's render — ``namespace``, ``labels``, ``images``, ``replicas`` —
and per-object RFC 6902 ``patches`` for everything else. The patches are computed against
what the transformers will not do ("unfeatured" objects), because Kustomize applies
``patches`` before the transformers. A transformer is used only when, predicted on every
object, it yields the environment's object; otherwise its changes go into the patches.
Objects new in an environment are resources of the overlay; objects an environment drops
are removed with a ``$patch: delete`` patch. Never the deprecated ``commonLabels``,
``patchesStrategicMerge``, ``vars`` or ``bases``. With ``spec.secrets.sops.layout: ksops``
the sops Secrets are left out of the base and each overlay generates its own through a
KSOPS generator (:mod:`manifestkit.emit.sops_layouts`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jsonpatch

from manifestkit.emit import EmitInput, Emitted
from manifestkit.emit.plain import object_file, object_path
from manifestkit.emit.sops_layouts import KSOPS_DIR, KSOPS_FILE, is_sops_secret, ksops_file, layout_of
from manifestkit.kinds import CLUSTER_SCOPED, containers, is_replicated, pod_spec
from manifestkit.model import Resource
from manifestkit.overlay import rewrite_image, settings_of
from manifestkit.writer import OutFile
from manifestkit.yamlio import dump

KUSTOMIZATION = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
# Kinds whose contents the namespace transformer rewrites beyond metadata.namespace.
NAMESPACE_SENSITIVE = frozenset({"RoleBinding", "ClusterRoleBinding", "MutatingWebhookConfiguration",
                                 "ValidatingWebhookConfiguration", "APIService", "CustomResourceDefinition"})

Obj = dict[str, Any]
Key = tuple[str | None, str, str]     # (app, kind, name): an object across environments


class Features(NamedTuple):
    """The Kustomize transformers an overlay uses."""

    namespace: str | None = None
    labels: Mapping[str, str] = {}
    images: Sequence[Mapping[str, str]] = ()
    replicas: Mapping[str, int] = {}


def emit_kustomize(job: EmitInput) -> Emitted:
    # sops Secrets never sit in the base: each environment has its own ciphertext, and a
    # patch over ciphertext (or a transformer over a sealed object) would break its MAC.
    ksops = layout_of(job.project) == "ksops"
    base = [r for r in job.render(None) if not is_sops_secret(r)]
    files: dict[str, OutFile] = {f"base/{object_path(r)}": object_file(r) for r in base}
    files["base/kustomization.yaml"] = _yaml({**KUSTOMIZATION, "resources": [object_path(r) for r in base]})
    for env, resources in sorted(job.renders.items()):
        environment = job.project.environments.get(env)
        settings = settings_of(environment)
        overlay = overlay_files(base, resources, settings.images, is_sops_secret, ksops)
        files.update({f"overlays/{env}/{rel}": out for rel, out in overlay.items()})
    return Emitted(files, ["base", *(f"overlays/{env}" for env in sorted(job.renders))])


def _never(resource: Resource) -> bool:
    return False


def overlay_files(base: Sequence[Resource], env: Sequence[Resource],
                  image_rules: Sequence[Mapping[str, str]] = (),
                  sealed: Callable[[Resource], bool] = _never, ksops: bool = False) -> dict[str, OutFile]:
    """The files of one overlay: kustomization.yaml and the objects new in this environment.
    ``sealed`` objects (sops Secrets) are written exactly as rendered — the overlay's
    transformers then set only what they already hold, so the MAC stays valid — as
    resources (Flux decrypts them) or, with ``ksops``, through a KSOPS generator."""
    base_by = _by_key(base)
    env_by = _by_key(env)
    features = choose_features(base_by, env_by, image_rules)
    files: dict[str, OutFile] = {}
    resources = ["../../base"]
    patches: list[Obj] = []
    secrets: list[str] = []
    for key, resource in env_by.items():
        before = base_by.get(key)
        wanted = unfeature(resource.obj, before.obj if before else None, features)
        if before is None and sealed(resource):
            rel = f"{KSOPS_DIR if ksops else 'resources'}/{object_path(resource)}"
            files[rel] = object_file(resource)
            (secrets if ksops else resources).append(rel)
            continue
        if before is None:
            rel = f"resources/{object_path(resource)}"
            files[rel] = object_file(resource.replace_obj(wanted))
            resources.append(rel)
            continue
        ops = jsonpatch.make_patch(_plain(before.obj), wanted).patch
        if ops:
            patches.append({"target": target(before.obj), "patch": dump(ops)})
    patches.extend(_delete_patch(base_by[key].obj) for key in base_by if key not in env_by)
    if secrets:
        files[KSOPS_FILE] = ksops_file(secrets)
    files["kustomization.yaml"] = _yaml(kustomization(resources, features, patches, [KSOPS_FILE] if secrets else []))
    return files


def kustomization(resources: list[str], features: Features, patches: list[Obj], generators: Sequence[str] = ()) -> Obj:
    out: Obj = {**KUSTOMIZATION, "resources": resources}
    if generators:
        out["generators"] = list(generators)
    if features.namespace:
        out["namespace"] = features.namespace
    if features.labels:
        out["labels"] = [{"pairs": dict(features.labels), "includeSelectors": False, "includeTemplates": False}]
    if features.images:
        out["images"] = [dict(rule) for rule in features.images]
    if features.replicas:
        out["replicas"] = [{"name": name, "count": count} for name, count in sorted(features.replicas.items())]
    if patches:
        out["patches"] = patches
    return out


def target(obj: Mapping[str, Any]) -> Obj:
    """A patch target selecting exactly ``obj`` (as it is in the base)."""
    group, _, version = str(obj["apiVersion"]).rpartition("/")
    out: Obj = {"group": group, "version": version, "kind": obj["kind"], "name": obj["metadata"]["name"]}
    if obj["metadata"].get("namespace"):
        out["namespace"] = obj["metadata"]["namespace"]
    return out


def _delete_patch(obj: Mapping[str, Any]) -> Obj:
    meta = {k: obj["metadata"][k] for k in ("name", "namespace") if obj["metadata"].get(k)}
    patch = {"$patch": "delete", "apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": meta}
    return {"target": target(obj), "patch": dump(patch)}


# ------------------------------------------------------------------ transformers

def choose_features(base: Mapping[Key, Resource], env: Mapping[Key, Resource],
                    image_rules: Sequence[Mapping[str, str]]) -> Features:
    """Every transformer that reproduces the environment exactly; the others are left out."""
    candidates = Features(_common_namespace(env), _new_labels(base, env), tuple(image_rules), _replicas(base, env))
    chosen = Features()
    for field in Features._fields:
        trial = chosen._replace(**{field: getattr(candidates, field)})
        if getattr(candidates, field) and _reproduces(base, env, trial):
            chosen = trial
    return chosen


def _reproduces(base: Mapping[Key, Resource], env: Mapping[Key, Resource], features: Features) -> bool:
    """Whether applying ``features`` to every unfeatured object gives the environment's object
    (and leaves the objects the environment drops alone)."""
    for key, resource in env.items():
        before = base.get(key)
        if apply_features(unfeature(resource.obj, before.obj if before else None, features), features) != _plain(resource.obj):
            return False
    return True


def _common_namespace(env: Mapping[Key, Resource]) -> str | None:
    kinds = {r.kind for r in env.values()}
    names = {r.namespace for r in env.values() if r.kind not in CLUSTER_SCOPED}
    if kinds & NAMESPACE_SENSITIVE or len(names) != 1:
        return None
    return names.pop() or None


def _new_labels(base: Mapping[Key, Resource], env: Mapping[Key, Resource]) -> dict[str, str]:
    """Labels every environment object carries with one value, unless every base object has them too."""
    def common(resources: Sequence[Resource]) -> set[tuple[str, str]]:
        sets = [set(_labels(r.obj).items()) for r in resources]
        return set.intersection(*sets) if sets else set()
    return dict(sorted(common(list(env.values())) - common(list(base.values()))))


def _replicas(base: Mapping[Key, Resource], env: Mapping[Key, Resource]) -> dict[str, int]:
    names = [r.name for r in env.values() if is_replicated(r.kind)]
    out = {}
    for key, resource in env.items():
        before = base.get(key)
        count = resource.obj.get("spec", {}).get("replicas")
        if is_replicated(resource.kind) and before is not None and names.count(resource.name) == 1 \
                and isinstance(count, int) and count != before.obj.get("spec", {}).get("replicas"):
            out[resource.name] = count
    return out


def apply_features(obj: Mapping[str, Any], features: Features) -> Obj:
    """What Kustomize's transformers make of ``obj`` (a prediction, proven by the tests)."""
    out = _plain(obj)
    meta = out.setdefault("metadata", {})
    if features.namespace and out.get("kind") not in CLUSTER_SCOPED:
        meta["namespace"] = features.namespace
    if features.labels:
        meta["labels"] = {**meta.get("labels", {}), **features.labels}
    if features.images:
        _map_images(out, lambda image: rewrite_image(image, list(features.images)))
    if is_replicated(out.get("kind")) and meta.get("name") in features.replicas:
        out.setdefault("spec", {})["replicas"] = features.replicas[meta["name"]]
    return out


def unfeature(obj: Mapping[str, Any], before: Mapping[str, Any] | None, features: Features) -> Obj:
    """``obj`` with what the transformers will change set back to the base's values."""
    out = _plain(obj)
    if before is None:
        return out
    meta = out.setdefault("metadata", {})
    old_meta = before.get("metadata", {})
    if features.namespace and "namespace" in old_meta:
        meta["namespace"] = old_meta["namespace"]
    elif features.namespace:
        meta.pop("namespace", None)
    if features.labels:
        labels = dict(meta.get("labels", {}))
        for key in features.labels:
            if key in old_meta.get("labels", {}):
                labels[key] = old_meta["labels"][key]
            else:
                labels.pop(key, None)
        meta["labels"] = labels
    if features.images:
        _unmap_images(out, before, list(features.images))
    if is_replicated(out.get("kind")) and meta.get("name") in features.replicas and "replicas" in before.get("spec", {}):
        out["spec"]["replicas"] = before["spec"]["replicas"]
    return out


def _containers(obj: Obj) -> list[Obj]:
    spec = pod_spec(obj)
    return [c for _, _, c in containers(spec) if isinstance(c, dict)] if spec is not None else []


def _map_images(obj: Obj, change: Callable[[str], str]) -> None:
    for container in _containers(obj):
        if isinstance(container.get("image"), str):
            container["image"] = change(container["image"])


def _unmap_images(obj: Obj, before: Mapping[str, Any], rules: list[Mapping[str, str]]) -> None:
    """Where the base image becomes the environment's image by the rules, keep the base image."""
    old = {c.get("name"): c.get("image") for c in _containers(_plain(before))}
    for container in _containers(obj):
        was = old.get(container.get("name"))
        if isinstance(was, str) and rewrite_image(was, rules) == container.get("image"):
            container["image"] = was


# ------------------------------------------------------------------ helpers

def _labels(obj: Mapping[str, Any]) -> Mapping[str, str]:
    labels = obj.get("metadata", {}).get("labels") or {}
    return labels if isinstance(labels, Mapping) else {}


def _by_key(resources: Sequence[Resource]) -> dict[Key, Resource]:
    return {(r.app, r.kind, r.name): r for r in resources}


def _plain(obj: Mapping[str, Any]) -> Obj:
    """A deep, JSON-typed copy (str subclasses become str) that can be changed freely."""
    return dict(json.loads(json.dumps(obj)))


def _yaml(obj: Mapping[str, Any]) -> OutFile:
    return OutFile(dump(obj).encode("utf-8"))
