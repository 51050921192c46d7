"""Which Kustomize transformers an overlay uses (``namespace``, ``labels``, ``images``,
``replicas``), and a prediction of what they do, so patches cover only the rest."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from manifestkit.images import rewrite_image
from manifestkit.kinds import CLUSTER_SCOPED, containers, is_replicated, pod_spec
from manifestkit.model import Resource

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
        if apply_features(unfeature(resource.obj, before.obj if before else None, features), features) != plain(
            resource.obj
        ):
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
    out = plain(obj)
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
    out = plain(obj)
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
    if (
        is_replicated(out.get("kind"))
        and meta.get("name") in features.replicas
        and "replicas" in before.get("spec", {})
    ):
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
    old = {c.get("name"): c.get("image") for c in _containers(plain(before))}
    for container in _containers(obj):
        was = old.get(container.get("name"))
        if isinstance(was, str) and rewrite_image(was, rules) == container.get("image"):
            container["image"] = was


# ------------------------------------------------------------------ helpers

def _labels(obj: Mapping[str, Any]) -> Mapping[str, str]:
    labels = obj.get("metadata", {}).get("labels") or {}
    return labels if isinstance(labels, Mapping) else {}


def plain(obj: Mapping[str, Any]) -> Obj:
    """A deep, JSON-typed copy (str subclasses become str) that can be changed freely."""
    return dict(json.loads(json.dumps(obj)))
