"""Patterns on manifests a team already has (`manifestkit inject`): every workload of the
given documents gets the patterns, its Service (same namespace, selecting its pods) gets
their ports, generated objects follow the workload. Patterns already listed in the pod's
`manifestkit.dev/patterns` annotation are skipped, so injecting twice changes nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from manifestkit.base_shape import base_shape_problems
from manifestkit.diagnostics import Diagnostic, ManifestkitError, gather
from manifestkit.kinds import pod_template, with_pod_template
from manifestkit.patterns.engine import PatternProblems, Use, applied_patterns, apply_patterns, target_of
from manifestkit.patterns.model import Obj, Pattern
from manifestkit.yamlio import Document


class Change(NamedTuple):
    """One output object and what it was before (None for a generated object)."""

    before: Mapping[str, Any] | None
    after: Mapping[str, Any]

    @property
    def changed(self) -> bool:
        return self.before != self.after


def inject(documents: Sequence[Document], uses: Sequence[Use], kube_version: str,
           registry: Mapping[str, Pattern]) -> list[Change]:
    """Every object of ``documents`` (in order) with the patterns applied, generated objects after their workload."""
    current: list[Any] = [doc.data for doc in documents]
    taken = {_key(obj): i for i, obj in enumerate(current) if isinstance(obj, Mapping)}

    def one(index: int) -> list[tuple[int, Obj]]:
        shape = base_shape_problems(documents[index])
        if shape:
            raise ManifestkitError(shape)
        try:
            objs = _inject_one(current, index, uses, kube_version, registry)
        except PatternProblems as exc:
            raise ManifestkitError([_where(documents[index], p.message, p.hint) for p in exc.problems]) from None
        clashes = _clashes(index, objs, taken, documents)
        if clashes:
            raise ManifestkitError(clashes)
        return [(index, obj) for obj in objs]

    generated: dict[int, list[Obj]] = {}
    for index, obj in gather(range(len(documents)), one):
        generated.setdefault(index, []).append(obj)
    out: list[Change] = []
    for index, doc in enumerate(documents):
        out.append(Change(doc.data, current[index]))
        out.extend(Change(None, obj) for obj in generated.get(index, []))
    return out


def _inject_one(current: list[Any], index: int, uses: Sequence[Use], kube_version: str,
                registry: Mapping[str, Pattern]) -> list[Obj]:
    obj = current[index]
    pod = pod_template(obj) if isinstance(obj, Mapping) else None
    if pod is None:
        return []
    done = applied_patterns(pod)
    todo = [use for use in uses if use.use not in done]
    if not todo:
        return []
    meta = obj.get("metadata", {})
    service_index = _service_of(current, meta.get("namespace"), pod)
    service = current[service_index] if service_index is not None else None
    applied = apply_patterns(pod, service, todo, target_of(obj, pod, kube_version), registry)
    current[index] = with_pod_template(obj, applied.pod)
    if service_index is not None:
        current[service_index] = applied.service
    return list(applied.objects)


def _service_of(objs: Sequence[Any], namespace: str | None, pod: Mapping[str, Any]) -> int | None:
    labels = _map(_map(pod.get("metadata")).get("labels"))
    for index, obj in enumerate(objs):
        if not isinstance(obj, Mapping) or obj.get("kind") != "Service":
            continue
        selector = _map(_map(obj.get("spec")).get("selector"))   # a malformed Service selects nothing
        if (_map(obj.get("metadata")).get("namespace") == namespace and selector
                and all(labels.get(k) == v for k, v in selector.items())):
            return index
    return None


def _map(node: Any) -> Mapping[str, Any]:
    return node if isinstance(node, Mapping) else {}


def _key(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = _map(obj.get("metadata"))
    return str(obj.get("kind")), str(meta.get("namespace") or ""), str(meta.get("name"))


def _clashes(index: int, objs: Sequence[Obj], taken: dict[tuple[str, str, str], int],
             documents: Sequence[Document]) -> list[Diagnostic]:
    """Objects generated for ``documents[index]`` that another document (or an earlier generated one) has; each
    taken."""
    problems = []
    for obj in objs:
        kind, _, name = _key(obj)
        if _key(obj) in taken:
            other = documents[taken[_key(obj)]]
            problems.append(_where(documents[index], f"a pattern generates {kind} {name!r}, but "
                                   f"{other.file} already has one"))
        taken[_key(obj)] = index
    return problems


def _where(doc: Document, message: str, hint: str = "") -> Diagnostic:
    kind, _, name = _key(doc.data)
    line, column = doc.position(("metadata", "name"))
    return Diagnostic(message=f"{kind}/{name}: {message}", file=doc.file, line=line, column=column, hint=hint)

