"""Apply a list of pattern uses to one pod template (and its Service): look each pattern
up, check its `with:` against its schema, call it, make it native when asked, and merge
its output with :func:`manifestkit.patterns.apply.merge`.

Shared by the pipeline step (:mod:`manifestkit.pattern_step`) and `manifestkit inject`.
Problems are returned as located-by-index values; the callers turn them into Diagnostics.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from manifestkit.diagnostics import did_you_mean, one_of
from manifestkit.kinds import runs_to_completion
from manifestkit.package_data import load_schema, schema_registry, surely_valid
from manifestkit.patterns.apply import merge
from manifestkit.patterns.model import ROLES, Obj, Pattern, PatternError, PatternInput, PatternOutput

if TYPE_CHECKING:
    import jsonschema

ANNOTATION = "manifestkit.dev/patterns"
NATIVE_SINCE = (1, 29)   # https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/
_LONG_RUNNING = ", ".join(name for name, role in ROLES.items() if role.user and role.long_running)


class Use(NamedTuple):
    """One entry of `patterns:` (or one `--pattern`)."""

    use: str
    params: Mapping[str, Any] = {}
    native: bool = False
    name: str | None = None          # renames the helper container (for repeated patterns)


class Target(NamedTuple):
    """The workload whose pod template is changed."""

    name: str
    namespace: str | None
    kube_version: str
    claims: tuple[str, ...] = ()  # a StatefulSet's volumeClaimTemplates names (mounted like volumes)
    completes: bool = False  # its pods run to completion (Job, CronJob, a Pod with restartPolicy Never/OnFailure)


def target_of(obj: Mapping[str, Any], pod: Mapping[str, Any], kube_version: str) -> Target:
    """The Target of a workload object and its pod template."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    claims = tuple(str((c.get("metadata") or {}).get("name")) for c in spec.get("volumeClaimTemplates") or []
                   if isinstance(c, Mapping))
    # https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#restart-policy
    completes = runs_to_completion(obj.get("kind")) or (pod.get("spec") or {}).get("restartPolicy") in (
        "Never",
        "OnFailure",
    )
    return Target(str(meta.get("name", "")), meta.get("namespace"), kube_version, claims, bool(completes))


class Problem(NamedTuple):
    entry: int                       # which use (index in the list)
    path: tuple[str | int, ...]      # inside that use, e.g. ("with", "port")
    message: str
    hint: str = ""


class PatternProblems(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


class Applied(NamedTuple):
    pod: Obj
    service: Obj | None
    objects: tuple[Obj, ...]
    names: tuple[str, ...]           # the patterns applied, in order


def applied_patterns(pod: Mapping[str, Any]) -> list[str]:
    """The `manifestkit.dev/patterns` annotation as a list."""
    value = (pod.get("metadata", {}).get("annotations") or {}).get(ANNOTATION, "")
    return [name for name in str(value).split(",") if name]


def apply_patterns(pod: Mapping[str, Any], service: Mapping[str, Any] | None, uses: Sequence[Use], target: Target,
                   registry: Mapping[str, Pattern]) -> Applied:
    """``pod`` with every use applied in order; all problems raised together as PatternProblems."""
    problems = _repeats(uses, registry)
    repeated = {p.entry for p in problems}
    current: Obj = dict(pod)
    svc = dict(service) if service is not None else None
    owners: Mapping[str, str] = {}
    hidden: Mapping[int, str] = {}
    objects: list[Obj] = []
    for index, use in enumerate(uses):
        if index in repeated:
            continue
        try:
            pattern = lookup(use.use, registry)
            params = checked_params(pattern, use.params)
            inp = PatternInput(name=target.name, namespace=target.namespace, params=params, pod=current, service=svc,
                               kube_version=target.kube_version)
            output = _run(pattern, use, inp, target)
            merged = merge(current, svc, output, pattern.name, owners, claims=target.claims, hidden=hidden)
        except PatternProblems as exc:
            problems.extend(p._replace(entry=index) for p in exc.problems)
            continue
        except PatternError as exc:
            problems.append(Problem(index, ("with", *exc.path), f"{use.use}: {exc.message}", exc.hint))
            continue
        if merged.conflicts:
            problems.extend(Problem(index, (), message) for message in merged.conflicts)
            continue
        current, svc, owners, hidden = merged.pod, merged.service, merged.owners, merged.hidden
        objects.extend(output.objects)
    if problems:
        raise PatternProblems(problems)
    names = tuple(u.use for u in uses)
    return Applied(_annotated(current, names), svc, tuple(objects), names)


def _annotated(pod: Obj, names: tuple[str, ...]) -> Obj:
    if not names:
        return pod
    metadata = dict(pod.get("metadata", {}))
    listed = ",".join([*applied_patterns(pod), *names])
    metadata["annotations"] = {**(metadata.get("annotations") or {}), ANNOTATION: listed}
    return {**pod, "metadata": metadata}


def _repeats(uses: Sequence[Use], registry: Mapping[str, Pattern]) -> list[Problem]:
    seen: dict[str, int] = {}
    problems = []
    for index, use in enumerate(uses):
        pattern = registry.get(use.use)
        if use.use in seen and pattern is not None and not pattern.repeatable:
            problems.append(Problem(index, ("use",), f"pattern {use.use!r} is already applied by entry "
                                    f"[{seen[use.use]}]; it may be applied only once"))
        seen.setdefault(use.use, index)
    return problems


def lookup(name: str, registry: Mapping[str, Pattern]) -> Pattern:
    pattern = registry.get(name)
    if pattern is None:
        raise PatternProblems([Problem(0, ("use",), f"unknown pattern {name!r}; expected one of: {one_of(registry)}",
                                       did_you_mean(name, sorted(registry)))])
    return pattern


def schema_of(pattern: Pattern) -> Mapping[str, Any]:
    if isinstance(pattern.schema, str):
        return load_schema(f"patterns/{pattern.schema or pattern.name.replace('/', '-')}")
    return pattern.schema


def checked_params(pattern: Pattern, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """`with:` checked against the pattern's schema, with the schema's top-level defaults filled in."""
    schema = schema_of(pattern)
    given = dict(params or {})
    if not surely_valid(schema, given):   # python-jsonschema (its import is a sixth of a one-app render) words errors
        import jsonschema

        validator = jsonschema.Draft202012Validator(schema, registry=schema_registry())
        error = jsonschema.exceptions.best_match(validator.iter_errors(given))
        if error is not None:
            raise PatternProblems([_param_problem(pattern, schema, given, error)])
    defaults = {key: prop["default"] for key, prop in schema.get("properties", {}).items()
                if isinstance(prop, Mapping) and "default" in prop}
    return {**defaults, **given}


def _param_problem(pattern: Pattern, schema: Mapping[str, Any], given: Mapping[str, Any],
                   error: jsonschema.ValidationError) -> Problem:
    known = sorted(schema.get("properties", {}))
    path = ("with", *error.absolute_path)
    if error.validator == "additionalProperties" and not error.absolute_path:
        unknown = sorted(set(given) - set(known))[0]
        return Problem(0, ("with", unknown), f"unknown parameter {unknown!r} for {pattern.name}; "
                       f"expected one of: {', '.join(known)}", did_you_mean(unknown, known))
    if error.validator == "required":
        missing = error.message.split("'")[1]
        return Problem(
            0, path, f"{pattern.name} needs parameter {missing!r}; expected: {', '.join(sorted(schema['required']))}"
        )
    return Problem(0, path, f"{pattern.name}: {error.message}")


def _run(pattern: Pattern, use: Use, inp: PatternInput, target: Target) -> PatternOutput:
    output = pattern.apply(inp)
    if use.name:
        output = _renamed(output, use.name)
    if use.native:
        return _native(pattern, output, target.kube_version)
    if target.completes and pattern.long_running and output.containers:
        return _for_completion(pattern, output, target)
    return output


def _for_completion(pattern: Pattern, output: PatternOutput, target: Target) -> PatternOutput:
    """A classic sidecar keeps a pod that should run to completion running forever (the Job never
    completes, a Helm test never ends): make it a native sidecar, which Kubernetes stops when the
    app exits, or refuse where the version has none.
    https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/#sidecar-containers-and-pod-lifecycle
    """
    if _version(target.kube_version) < NATIVE_SINCE:
        raise PatternProblems(
            [
                Problem(
                    0,
                    ("use",),
                    f"{pattern.name} adds a long-running container to pods that run to "
                    "completion, which would then never complete; native sidecars, which stop with "
                    f"the app, need Kubernetes 1.29 or newer and the target is {target.kube_version}",
                    "target Kubernetes 1.29 or newer (-k 1.29, spec.kubernetesVersion)",
                )
            ]
        )
    return _native(pattern, output, target.kube_version)


def _renamed(output: PatternOutput, name: str) -> PatternOutput:
    if output.containers:
        return dataclasses.replace(output, containers=({**output.containers[0], "name": name}, *output.containers[1:]))
    if output.init_containers:
        return dataclasses.replace(
            output, init_containers=({**output.init_containers[0], "name": name}, *output.init_containers[1:])
        )
    return output


def _native(pattern: Pattern, output: PatternOutput, kube_version: str) -> PatternOutput:
    """Long-running helpers become native sidecars: init containers with restartPolicy: Always."""
    if not pattern.long_running:
        raise PatternProblems([Problem(0, ("native",), f"{pattern.name} runs to completion before the app; "
                                       f"`native: true` applies only to long-running helpers ({_LONG_RUNNING})")])
    if _version(kube_version) < NATIVE_SINCE:
        raise PatternProblems(
            [
                Problem(
                    0,
                    ("native",),
                    f"native sidecars need Kubernetes 1.29 or newer; the target is {kube_version}",
                    'set kubernetesVersion to "1.29" or newer, or drop `native: true`',
                )
            ]
        )
    natives = tuple({**c, "restartPolicy": "Always"} for c in output.containers)
    return dataclasses.replace(output, containers=(), init_containers=(*output.init_containers, *natives))


def _version(kube_version: str) -> tuple[int, int]:
    major, _, minor = kube_version.lstrip("v").partition(".")
    return int(major), int(minor.split(".")[0] or 0)
