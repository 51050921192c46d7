"""The records a pattern works with: what it gets (PatternInput), what it returns
(PatternOutput), and the pattern itself (Pattern). Plain data only."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Role:
    """What the first part of a pattern name (`<role>/<name>`) implies."""

    long_running: bool    # helpers run beside the app (may become native sidecars); else run to completion before it
    user: bool = True     # users may add patterns of this role, and it has a generic pattern of its own name


# The one home of the roles; user-pattern names, the generic patterns and `native:` read it.
ROLES: dict[str, Role] = {
    "sidecar": Role(long_running=True),
    "ambassador": Role(long_running=True),
    "adapter": Role(long_running=True),
    "init": Role(long_running=False),
    "vault": Role(long_running=True, user=False),
}
USER_ROLES = tuple(name for name, role in ROLES.items() if role.user)


@dataclass(frozen=True, slots=True, kw_only=True)
class PatternInput:
    """One application of a pattern to one pod template."""

    name: str                              # the workload (or App) name
    namespace: str | None
    params: Mapping[str, Any]              # `with:`, already checked against the pattern's schema
    pod: Mapping[str, Any]                 # the pod template as it is now (metadata + spec)
    service: Mapping[str, Any] | None      # the Service in front of the pod, if any
    kube_version: str = "1.30"


@dataclass(frozen=True, slots=True, kw_only=True)
class PatternOutput:
    """What a pattern adds; :func:`manifestkit.patterns.apply.merge` merges it."""

    containers: tuple[Obj, ...] = ()
    init_containers: tuple[Obj, ...] = ()
    volumes: tuple[Obj, ...] = ()
    mounts: Mapping[str, tuple[Obj, ...]] = field(default_factory=dict)   # container name -> volumeMounts to add to it
    service_ports: tuple[Obj, ...] = ()
    private_ports: tuple[int, ...] = ()  # container ports that must no longer be reachable
    annotations: Mapping[str, str] = field(default_factory=dict)          # pod template annotations
    pod_fields: Mapping[str, Any] = field(default_factory=dict)           # e.g. shareProcessNamespace
    objects: tuple[Obj, ...] = ()                                         # extra objects, e.g. a generated ConfigMap


class PatternError(Exception):
    """A pattern cannot apply with these parameters; ``path`` is inside `with:`."""

    def __init__(self, message: str, path: tuple[str | int, ...] = (), hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.hint = hint


@dataclass(frozen=True, slots=True, kw_only=True)
class Pattern:
    """A registry entry; the registry is built from ``name``, so a name is written once.

    ``schema`` is a file stem under schemas/patterns/ (empty: the name with `/` as `-`,
    e.g. `sidecar-envoy`) or, for user patterns, the schema itself.
    """

    name: str
    apply: Callable[[PatternInput], PatternOutput]
    schema: str | Mapping[str, Any] = ""
    repeatable: bool = False

    @property
    def role(self) -> str:
        return self.name.split("/", 1)[0]

    @property
    def long_running(self) -> bool:
        role = ROLES.get(self.role)
        return role is None or role.long_running


def by_name(*patterns: Pattern) -> dict[str, Pattern]:
    """The registry of ``patterns``, keyed by their names."""
    return {pattern.name: pattern for pattern in patterns}
