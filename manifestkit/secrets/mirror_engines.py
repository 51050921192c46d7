"""Mirroring engines (seed 003): who copies a Secret into other namespaces — manifestkit at render time, or a
controller in the cluster.

:data:`ENGINES` is the registry. ``render`` copies into the namespaces this render knows;
the runtime engines also reach namespaces created later (one per branch) and Secrets that
exist only in the cluster (``source: cluster``, e.g. a cert-manager certificate):

- ``secret-mirror``: a ``SecretMirror`` (``mirrors.kts.studio/v1alpha2``, the seed's own
  controller) — source Secret or Vault, namespace regexes, poll period, delete policy;
- ``reflector``: kubernetes-reflector annotations on the Secret (they take regexes);
- ``kyverno``: a Kyverno ``ClusterPolicy`` whose ``generate`` rule clones the Secret into
  every matching Namespace and keeps it in sync (``synchronize: true``).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.model import Resource
from manifestkit.secrets import secret_mirror as sm
from manifestkit.secrets.jobs import located

REFLECTOR = "reflector.v1.k8s.emberstack.com/"
SOURCES = ("git", "cluster")        # or {vault: {...}}

Engine = Callable[[Resource, Mapping[str, Any], Sequence[str]], list[Resource]]
log = logging.getLogger(__name__)


def _problem(resource: Resource, message: str, hint: str = "") -> ManifestkitError:
    """``message`` starts with the field: ``mirror.<field>: ...`` or ``mirror: ...``."""
    return ManifestkitError([Diagnostic(message=f"{resource.ref()}: {message}", hint=hint, **located(resource))])


def patterns_of(resource: Resource, spec: Mapping[str, Any], go: bool = False) -> list[str]:
    """``mirror.namespaces``, each a valid regular expression (a glob like ``*-prod`` is an error); ``go``: one that
    Go's regexp compiles too (the SecretMirror controller and Kyverno are Go programs)."""
    patterns = [str(p) for p in spec.get("namespaces") or []]
    for i, pattern in enumerate(patterns):
        bad = sm.regex_problem(pattern, go)
        if bad:
            raise _problem(resource, f"mirror.namespaces[{i}]: {bad[0]}", hint=bad[1])
    return patterns


def _without_mirror(resource: Resource, namespace: str | None = None) -> Resource:
    meta = dict(resource.obj.get("metadata") or {})
    if namespace:
        meta["namespace"] = namespace
    return dataclasses.replace(resource, obj={**resource.obj, "metadata": meta}, mirror=None)


def _own(resource: Resource, spec: Mapping[str, Any]) -> list[Resource]:
    """The Secret itself, unless its data lives elsewhere (the cluster, Vault)."""
    return [_without_mirror(resource)] if spec.get("source", "git") == "git" else []


def _made(resource: Resource, obj: Mapping[str, Any]) -> Resource:
    """An engine object, labelled like the Secret it mirrors."""
    labels = (resource.obj.get("metadata") or {}).get("labels")
    meta = {**obj["metadata"], **({"labels": dict(labels)} if labels else {})}
    return Resource(obj={**obj, "metadata": meta}, app=resource.app, source=resource.source.derived())


def render_copies(resource: Resource, spec: Mapping[str, Any], namespaces: Sequence[str]) -> list[Resource]:
    """Engine ``render``: a copy in every namespace of this render whose whole name matches."""
    if spec.get("source", "git") != "git":
        raise _problem(
            resource,
            f"mirror.source: {spec['source']!r} is not in git, so engine render has nothing to copy",
            hint="choose engine secret-mirror, reflector or kyverno, which copy in the cluster",
        )
    patterns = patterns_of(resource, spec)
    compiled = [re.compile(p) for p in patterns]
    targets = sorted(ns for ns in namespaces if any(c.fullmatch(ns) for c in compiled) and ns != resource.namespace)
    for pattern, rx in zip(patterns, compiled, strict=True):
        if not any(rx.fullmatch(ns) for ns in namespaces):
            log.warning("%s: mirror: namespace rule %r matches no namespace of this render (%s); engine render copies "
                        "only into namespaces it knows", resource.ref(), pattern, ", ".join(namespaces) or "none")
    return [_without_mirror(resource), *(_without_mirror(resource, ns) for ns in targets)]


def secret_mirror(resource: Resource, spec: Mapping[str, Any], namespaces: Sequence[str]) -> list[Resource]:
    """Engine ``secret-mirror``: a SecretMirror beside the Secret (seed 003), copying it, or the Vault secret of
    ``source: {vault: ...}`` under its name, into the matching namespaces; unset fields left to the controller."""
    source_spec = spec.get("source", "git")
    source: dict[str, Any] = {"name": resource.name}
    if isinstance(source_spec, Mapping) and "vault" in source_spec:
        source["vault"] = source_spec["vault"]
    destination = {"type": "namespaces", "namespaces": patterns_of(resource, spec, go=True)}
    entry = {"source": source, "destination": destination,
             **{key: spec[key] for key in ("deletePolicy", "pollPeriodSeconds") if key in spec}}
    meta = {
        "name": str(spec.get("name") or f"{resource.name}-mirror"),
        **({"namespace": resource.namespace} if resource.namespace else {}),
    }
    return [*_own(resource, spec), _made(resource, sm.secret_mirror(meta, sm.spec_of(entry)))]


def reflector(resource: Resource, spec: Mapping[str, Any], namespaces: Sequence[str]) -> list[Resource]:
    """Engine ``reflector``: kubernetes-reflector's annotations; it reflects into new namespaces itself."""
    if spec.get("source", "git") != "git":
        raise _problem(
            resource,
            "mirror.engine: reflector reads its annotations from the source Secret, which manifestkit "
            "does not write when the source is not in git",
            hint="put the reflector annotations on the source (cert-manager: Certificate "
            "spec.secretTemplate.annotations), or choose engine secret-mirror or kyverno",
        )
    allowed = ",".join(patterns_of(resource, spec))
    own = _without_mirror(resource)
    meta = dict(own.obj.get("metadata") or {})
    meta["annotations"] = {**(meta.get("annotations") or {}),
                           f"{REFLECTOR}reflection-allowed": "true",
                           f"{REFLECTOR}reflection-allowed-namespaces": allowed,
                           f"{REFLECTOR}reflection-auto-enabled": "true",
                           f"{REFLECTOR}reflection-auto-namespaces": allowed}
    return [own.replace_obj({**own.obj, "metadata": meta})]


def kyverno(resource: Resource, spec: Mapping[str, Any], namespaces: Sequence[str]) -> list[Resource]:
    """Engine ``kyverno``: a ClusterPolicy cloning the Secret into every matching Namespace, kept in sync.

    https://kyverno.io/docs/writing-policies/generate/#clone-source — ``match`` takes only
    wildcards, so the regexes go into a precondition with JMESPath ``regex_match``.
    """
    if isinstance(spec.get("source"), Mapping):
        raise _problem(resource, "mirror.engine: kyverno clones a Secret of the cluster; it cannot read Vault",
                       hint="choose engine secret-mirror for a Vault source")
    patterns = patterns_of(resource, spec, go=True)
    regex = "^(" + "|".join(patterns) + ")$"
    rule = {
        "name": f"mirror-{resource.name}",
        "match": {"any": [{"resources": {"kinds": ["Namespace"]}}]},
        "preconditions": {"all": [{"key": f"{{{{ regex_match('{regex}', '{{{{request.object.metadata.name}}}}') }}}}",
                                   "operator": "Equals", "value": True}]},
        "generate": {"apiVersion": "v1", "kind": "Secret", "name": resource.name,
                     "namespace": "{{request.object.metadata.name}}", "synchronize": True,
                     "clone": {"namespace": resource.namespace or "default", "name": resource.name}},
    }
    ns = f"{resource.namespace}-" if resource.namespace else ""
    policy = {"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
              "metadata": {"name": str(spec.get("name") or f"mirror-{ns}{resource.name}")},
              "spec": {"generateExisting": True, "rules": [rule]}}
    return [*_own(resource, spec), _made(resource, policy)]


ENGINES: dict[str, Engine] = {
    "render": render_copies,
    "secret-mirror": secret_mirror,
    "reflector": reflector,
    "kyverno": kyverno,
}
