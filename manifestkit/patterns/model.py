"""The records a pattern works with: what it gets (PatternInput), what it returns
(PatternOutput), and the pattern itself (Pattern). Plain data only."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

Obj = dict[str, Any]
ROLES = ("sidecar", "ambassador", "adapter", "init", "vault")
# Roles whose helpers keep running beside the app (may become native sidecars).
LONG_RUNNING_ROLES = ("sidecar", "ambassador", "adapter", "vault")


class PatternInput(NamedTuple):
    """One application of a pattern to one pod template."""

    name: str                              # the workload (or App) name
    namespace: str | None
    params: Mapping[str, Any]              # `with:`, already checked against the pattern's schema
    pod: Mapping[str, Any]                 # the pod template as it is now (metadata + spec)
    service: Mapping[str, Any] | None      # the Service in front of the pod, if any
    kube_version: str = "1.30"


class PatternOutput(NamedTuple):
    """What a pattern adds; :func:`manifestkit.patterns.apply.apply_output` merges it."""

    containers: tuple[Obj, ...] = ()
    init_containers: tuple[Obj, ...] = ()
    volumes: tuple[Obj, ...] = ()
    mounts: Mapping[str, tuple[Obj, ...]] = {}     # container name -> volumeMounts to add to it
    service_ports: tuple[Obj, ...] = ()
    private_ports: tuple[int, ...] = ()            # container ports that must no longer be reachable
    annotations: Mapping[str, str] = {}            # pod template annotations
    pod_fields: Mapping[str, Any] = {}             # e.g. shareProcessNamespace
    objects: tuple[Obj, ...] = ()                  # extra objects, e.g. a generated ConfigMap


class PatternError(Exception):
    """A pattern cannot apply with these parameters; ``path`` is inside `with:`."""

    def __init__(self, message: str, path: tuple[str | int, ...] = (), hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.hint = hint


class Pattern(NamedTuple):
    """A registry entry. ``schema`` is a file stem under schemas/patterns/, a schema itself,
    or a function returning one (for patterns whose module is loaded only when used)."""

    name: str
    schema: str | Mapping[str, Any] | Callable[[], Mapping[str, Any]]
    apply: Callable[[PatternInput], PatternOutput]
    repeatable: bool = False
    long_running: bool = True

    @property
    def role(self) -> str:
        return self.name.split("/", 1)[0]
