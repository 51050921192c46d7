"""The records of the lint step: a rule, what its check yields, and what it may read."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from manifestkit.lint.podspec import Path, Pod

ObjectKey = tuple[str, str, str]           # (kind, namespace, name)


class Hit(NamedTuple):
    """One problem a check found: the field path in the object and the message.

    ``line_offset`` moves the reported line inside a multi-line string value (a template
    inside a ConfigMap), counted from the value's first line.
    """

    path: Path
    message: str
    hint: str = ""
    line_offset: int = 0


class Settings(NamedTuple):
    """Rule parameters from the lint configuration."""

    kv1_mounts: frozenset[str] = frozenset()
    kv2_mounts: frozenset[str] = frozenset({"secret"})


class WorkloadIndex(NamedTuple):
    """The pod templates of a run, for rules that look across objects (Service → pods).

    ``by_label`` maps (namespace, label, value) to workloads so a selector finds its
    candidates without scanning every object.
    """

    per_namespace: Mapping[str, int] = {}                             # workloads per namespace
    by_label: Mapping[tuple[str, str, str], Sequence[Mapping[str, Any]]] = {}


@dataclass(frozen=True, slots=True, kw_only=True)
class LintContext:
    """What a check may read besides its object."""

    workloads: WorkloadIndex = field(default_factory=WorkloadIndex)   # every pod template of the run
    previous: Mapping[ObjectKey, Mapping[str, Any]] = field(default_factory=dict)   # earlier versions, when known
    settings: Settings = field(default_factory=Settings)
    file: str = ""                                            # the file the object came from, '' for data
    encrypted: bool = False                                   # that file is sops-encrypted


# A check reads the object, its context and its pod (worked out once for every rule; None when it has none).
Check = Callable[[Mapping[str, Any], LintContext, Pod | None], Iterable[Hit]]


class Rule(NamedTuple):
    id: str
    name: str
    severity: str
    summary: str
    check: Check
    enabled: bool = True          # off-by-default rules are turned on with `lint.enable`
    pods: bool = False            # looks only at a pod: not run on an object without one


def object_key(obj: Mapping[str, Any]) -> ObjectKey:
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    return (str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name", "")))
