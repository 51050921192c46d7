"""The generic patterns `sidecar`, `ambassador`, `adapter` and `init`: the user gives the
container, volumes, Service ports (and mounts into existing containers) as Kubernetes
spells them; the merge function checks them like any built-in's output."""

from __future__ import annotations

from manifestkit.patterns.model import Obj, PatternInput, PatternOutput


def _mounts(inp: PatternInput) -> dict[str, tuple[Obj, ...]]:
    return {name: tuple(items) for name, items in (inp.params.get("mounts") or {}).items()}


def running_helper(inp: PatternInput) -> PatternOutput:
    """`sidecar`, `ambassador`, `adapter`: one more container beside the app."""
    return PatternOutput(containers=(dict(inp.params["container"]),), volumes=tuple(inp.params.get("volumes") or ()),
                         service_ports=tuple(inp.params.get("servicePorts") or ()), mounts=_mounts(inp))


def init_helper(inp: PatternInput) -> PatternOutput:
    """`init`: one more init container, run before the app."""
    return PatternOutput(
        init_containers=(dict(inp.params["container"]),),
        volumes=tuple(inp.params.get("volumes") or ()),
        service_ports=tuple(inp.params.get("servicePorts") or ()),
        mounts=_mounts(inp),
    )
