"""What the webhook does to one admitted object: pick the configured patterns, apply them with
the very function `manifestkit inject` uses, carry generated ConfigMaps inside the pod, and
answer the RFC 6902 patch (or the conflict) as data."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from manifestkit.diagnostics import ManifestkitError
from manifestkit.patterns.engine import Use
from manifestkit.patterns.inject import Change, inject
from manifestkit.patterns.patch import Op, diff
from manifestkit.webhook.config import ALWAYS_EXCLUDED, ANNOTATION, Rule, WebhookConfig
from manifestkit.webhook.selectors import matches
from manifestkit.webhook.targets import pod_template, with_pod_template
from manifestkit.yamlio import Document

OPT_OUT = frozenset({"false", "off", "no", "disabled"})
OPT_IN_ALL = frozenset({"true", "on", "yes", "enabled"})
# A generated ConfigMap travels in the pod as annotations read back by a downwardAPI volume:
# https://kubernetes.io/docs/concepts/workloads/pods/downward-api/#downwardapi-fieldRef
FILE_ANNOTATION = "{volume}.files.manifestkit.dev/{key}"
_ANNOTATION_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


class Outcome(NamedTuple):
    """The answer for one object: a patch ([] for none), the patterns applied, warnings, or a denial."""

    patch: list[Op]
    patterns: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    denied: str = ""


class Inlined(NamedTuple):
    obj: dict[str, Any]
    problems: list[str]


def mutate(config: WebhookConfig, obj: Mapping[str, Any], namespace: str, rules: Sequence[Rule],
           own_namespace: str = "") -> Outcome:
    """The outcome for ``obj`` created or updated in ``namespace`` under ``rules``."""
    pod = pod_template(obj)
    excluded = {*ALWAYS_EXCLUDED, *config.exclude_namespaces, *([own_namespace] if own_namespace else [])}
    if pod is None or namespace in excluded:
        return Outcome([])
    uses, warnings = select_uses(config, rules, obj, pod)
    if not uses:
        return Outcome([], warnings=tuple(warnings))
    try:
        changes = inject([Document(obj, "<admission>", {})], uses, config.kube_version, config.registry)
    except ManifestkitError as exc:
        return _conflict(config, [d.message for d in exc.diagnostics], warnings)
    inlined = inline_generated(changes)
    if inlined.problems:
        return _conflict(config, inlined.problems, warnings)
    return Outcome(diff(obj, inlined.obj), tuple(u.use for u in uses), tuple(warnings))


def select_uses(config: WebhookConfig, rules: Sequence[Rule], obj: Mapping[str, Any],
                pod: Mapping[str, Any]) -> tuple[list[Use], list[str]]:
    """The patterns for this object: the annotation opts out, names patterns, or lets the objectSelectors decide."""
    meta = pod.get("metadata") or {}
    value = str(
        (meta.get("annotations") or {}).get(
            ANNOTATION, (obj.get("metadata", {}).get("annotations") or {}).get(ANNOTATION, "")
        )
    ).strip()
    if value.lower() in OPT_OUT:
        return [], []
    named = [] if not value or value.lower() in OPT_IN_ALL else [n.strip() for n in value.split(",") if n.strip()]
    labels = meta.get("labels") or {}
    uses: list[Use] = []
    for rule in rules:
        if obj.get("kind") not in rule.kinds:
            continue
        if named:
            uses.extend(u for u in rule.uses if u.use in named)
        elif value or matches(rule.object_selector, labels):
            uses.extend(rule.uses)
    offered = {u.use for r in config.rules for u in r.uses}
    warnings = [f"{ANNOTATION}: pattern {n!r} is not offered by this webhook; offered: {', '.join(sorted(offered))}"
                for n in named if n not in offered]
    return _unique(uses), warnings


def _unique(uses: list[Use]) -> list[Use]:
    """One use per (pattern, container name): the first rule that offers it wins."""
    seen: set[tuple[str, str | None]] = set()
    out = []
    for use in uses:
        if (use.use, use.name) not in seen:
            seen.add((use.use, use.name))
            out.append(use)
    return out


def _conflict(config: WebhookConfig, messages: list[str], warnings: list[str]) -> Outcome:
    text = "; ".join(messages)
    if config.on_conflict == "warn":
        return Outcome([], warnings=(*warnings, f"manifestkit: not injected: {text}"))
    return Outcome([], warnings=tuple(warnings), denied=f"manifestkit: {text}")


def inline_generated(changes: Sequence[Change]) -> Inlined:
    """The changed object with every generated ConfigMap carried inside its pod template;
    a generated object that cannot be carried so is a problem (a webhook creates no objects)."""
    obj = dict(changes[0].after)
    problems: list[str] = []
    for change in changes[1:]:
        generated = change.after
        name = str(generated.get("metadata", {}).get("name"))
        if generated.get("kind") != "ConfigMap" or generated.get("binaryData"):
            problems.append(
                f"a pattern generates {generated.get('kind')} {name!r}, which an admission webhook cannot create"
            )
            continue
        obj, found = _inline_config_map(obj, name, generated.get("data") or {})
        problems.extend(found)
    return Inlined(obj, problems)


def _inline_config_map(obj: dict[str, Any], name: str, data: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    pod = pod_template(obj) or {}
    spec = dict(pod.get("spec") or {})
    annotations = dict((pod.get("metadata") or {}).get("annotations") or {})
    volumes, problems = [], []
    for volume in spec.get("volumes") or []:
        source = volume.get("configMap") if isinstance(volume, Mapping) else None
        if not isinstance(source, Mapping) or source.get("name") != name:
            volumes.append(volume)
            continue
        items = source.get("items") or [{"key": key, "path": key} for key in sorted(data)]
        downward: list[dict[str, Any]] = []
        for item in items:
            key = FILE_ANNOTATION.format(volume=volume["name"], key=item["key"])
            if not _ANNOTATION_NAME.match(item["key"]) or len(key.split("/")[0]) > 253:
                problems.append(f"ConfigMap key {item['key']!r} of {name!r} cannot become a pod annotation")
                continue
            annotations[key] = data.get(item["key"], "")
            downward.append({"path": item["path"], "fieldRef": {"fieldPath": f"metadata.annotations['{key}']"}})
        extra = {"defaultMode": source["defaultMode"]} if "defaultMode" in source else {}
        volumes.append({"name": volume["name"], "downwardAPI": {"items": downward, **extra}})
    spec["volumes"] = volumes
    if any(ref.get("name") == name for ref in _references(spec)):
        problems.append(
            f"the pod reads ConfigMap {name!r} other than as a volume; an admission webhook cannot create it"
        )
    metadata = {**(pod.get("metadata") or {}), "annotations": annotations}
    return with_pod_template(obj, {**pod, "metadata": metadata, "spec": spec}), problems


def _references(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every ConfigMap a pod spec names: volumes, projected sources, envFrom and env valueFrom.
    https://kubernetes.io/docs/concepts/configuration/configmap/#using-configmaps"""
    for volume in spec.get("volumes") or []:
        yield volume.get("configMap") or {}
        for source in (volume.get("projected") or {}).get("sources") or []:
            yield source.get("configMap") or {}
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(key) or []:
            for env_from in container.get("envFrom") or []:
                yield env_from.get("configMapRef") or {}
            for env in container.get("env") or []:
                yield (env.get("valueFrom") or {}).get("configMapKeyRef") or {}
