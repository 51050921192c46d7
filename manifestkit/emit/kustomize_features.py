"""Which Kustomize transformers an overlay uses (``namespace``, ``labels``, ``images``,
``replicas``), and a prediction of what they do, so patches cover only the rest.

``labels`` is tried with ``includeTemplates: true`` first (pod template labels too, so no
patch per workload), then without; ``images`` keeps only the rules that name an image of
the objects at hand."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from manifestkit.emit.helm_values import get_path
from manifestkit.images import rewrite_image, split_image
from manifestkit.json_copy import json_copy as plain
from manifestkit.kinds import CLUSTER_SCOPED, Path, containers, is_replicated, kustomize_template_labels, pod_spec
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
    template_labels: bool = False     # `labels` with includeTemplates: true


# ------------------------------------------------------------------ transformers

def choose_features(base: Mapping[Key, Resource], env: Mapping[Key, Resource],
                    image_rules: Sequence[Mapping[str, str]]) -> Features:
    """Every transformer that reproduces the environment exactly; the others are left out.
    Each step tries its alternatives in turn and keeps the first that reproduces."""
    labels = _new_labels(base, env)
    steps: list[list[dict[str, Any]]] = [
        [{"namespace": _common_namespace(base, env)}],
        [{"labels": labels, "template_labels": True}, {"labels": labels}],
        [{"images": _used_rules(base, env, image_rules)}],
        [{"replicas": _replicas(base, env)}],
    ]
    wanted = {key: plain(r.obj) for key, r in env.items()}
    chosen = Features()
    for alternatives in steps:
        for change in alternatives:
            trial = chosen._replace(**change)
            if next(iter(change.values())) and _reproduces(base, env, trial, wanted):
                chosen = trial
                break
    return chosen


def _reproduces(base: Mapping[Key, Resource], env: Mapping[Key, Resource], features: Features,
                wanted: Mapping[Key, Obj]) -> bool:
    """Whether applying ``features`` to every unfeatured object gives the environment's object
    (``wanted``: each as :func:`plain` makes it)."""
    for key, resource in env.items():
        before = base.get(key)
        if _applied(unfeature(resource.obj, before.obj if before else None, features), features) != wanted[key]:
            return False
    return True


def _common_namespace(base: Mapping[Key, Resource], env: Mapping[Key, Resource]) -> str | None:
    """The one namespace of the environment's objects, when it moves some object of the base."""
    kinds = {r.kind for r in env.values()}
    names = {r.namespace for r in env.values() if r.kind not in CLUSTER_SCOPED}
    if kinds & NAMESPACE_SENSITIVE or len(names) != 1:
        return None
    name = names.pop()
    moved = any(key in base and base[key].namespace != name for key, r in env.items() if r.kind not in CLUSTER_SCOPED)
    return name if name and moved else None


def _new_labels(base: Mapping[Key, Resource], env: Mapping[Key, Resource]) -> dict[str, str]:
    """Labels every environment object carries with one value, unless every base object has them too."""
    def common(resources: Sequence[Resource]) -> set[tuple[str, str]]:
        sets = [set(_labels(r.obj).items()) for r in resources]
        return set.intersection(*sets) if sets else set()
    return dict(sorted(common(list(env.values())) - common(list(base.values()))))


def _used_rules(base: Mapping[Key, Resource], env: Mapping[Key, Resource],
                rules: Sequence[Mapping[str, str]]) -> tuple[Mapping[str, str], ...]:
    """The image rules that name an image of these objects (a rule matches by name only)."""
    repos = {split_image(str(c["image"]))[0] for r in (*base.values(), *env.values())
             for c in _containers(r.obj) if isinstance(c.get("image"), str)}
    return tuple(rule for rule in rules if rule.get("name") in repos)


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
    return _applied(plain(obj), features)


def _applied(out: Obj, features: Features) -> Obj:
    """:func:`apply_features` on ``out`` itself (a copy of no one else's)."""
    meta = out.setdefault("metadata", {})
    if features.namespace and out.get("kind") not in CLUSTER_SCOPED:
        meta["namespace"] = features.namespace
    if features.labels:
        meta["labels"] = {**meta.get("labels", {}), **features.labels}
    if features.labels and features.template_labels:
        for path in _template_label_paths(out):
            holder = _map_at(out, path[:-1])
            if holder is not None:
                holder[path[-1]] = {**(holder.get(path[-1]) or {}), **features.labels}
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
        meta["labels"] = _restored(meta.get("labels", {}), old_meta.get("labels", {}), features.labels)
    if features.labels and features.template_labels:
        for path in _template_label_paths(out):
            holder, old = get_path(out, path[:-1], None), get_path(before, path, None)
            if isinstance(holder, dict) and isinstance(holder.get(path[-1]), Mapping):
                labels = _restored(holder[path[-1]], old if isinstance(old, Mapping) else {}, features.labels)
                if labels or isinstance(old, Mapping):
                    holder[path[-1]] = labels
                else:
                    del holder[path[-1]]
    if features.images:
        _unmap_images(out, before, list(features.images))
    if (
        is_replicated(out.get("kind"))
        and meta.get("name") in features.replicas
        and "replicas" in before.get("spec", {})
    ):
        out["spec"]["replicas"] = before["spec"]["replicas"]
    return out


def _containers(obj: Mapping[str, Any]) -> list[Obj]:
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

def _restored(labels: Mapping[str, Any], old: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """``labels`` with each of ``keys`` as it is in ``old`` (absent when ``old`` lacks it)."""
    out = dict(labels)
    for key in keys:
        if key in old:
            out[key] = old[key]
        else:
            out.pop(key, None)
    return out


def _template_label_paths(obj: Obj) -> list[Path]:
    """Where ``includeTemplates`` puts labels in ``obj``, each ``[]`` spelled as the list's indexes."""
    return [concrete for path in kustomize_template_labels(obj) for concrete in _indexes(obj, path)]


def _indexes(obj: Any, path: Path, done: Path = ()) -> list[Path]:
    if not path:
        return [done]
    if path[0] != "[]":
        return _indexes(obj, path[1:], (*done, path[0]))
    items = get_path(obj, done, None)
    return [p for i in range(len(items)) for p in _indexes(obj, path[1:], (*done, str(i)))] \
        if isinstance(items, list) else []


def _map_at(obj: Any, path: Path) -> dict[str, Any] | None:
    """The map at ``path`` in ``obj``, maps created where missing (Kustomize's ``create: true``);
    None where the way is not a map or list."""
    for key in path:
        if isinstance(obj, list) and key.isdigit() and int(key) < len(obj):
            obj = obj[int(key)]
        elif isinstance(obj, dict):
            if obj.get(key) is None:
                obj[key] = {}
            obj = obj[key]
        else:
            return None
    return obj if isinstance(obj, dict) else None


def _labels(obj: Mapping[str, Any]) -> Mapping[str, str]:
    labels = obj.get("metadata", {}).get("labels") or {}
    return labels if isinstance(labels, Mapping) else {}
