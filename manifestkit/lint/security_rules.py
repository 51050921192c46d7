"""Lint checks on privileges and secrets: privileged containers, process sharing,
root users, plaintext Secrets, hostPath volumes, RBAC roleRef changes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from manifestkit.lint.base import Hit, LintContext, object_key
from manifestkit.lint.podspec import Pod, as_list, as_map, pod_annotations
from manifestkit.lint.refs import is_reference
from manifestkit.patterns.engine import ANNOTATION as PATTERNS_ANNOTATION

REASON_ANNOTATION = "manifestkit.dev/share-process-reason"
# Patterns that need a shared process namespace and say why in their docs (DESIGN.md).
_EXPLAINED_BY_PATTERN = frozenset({"vault/agent"})


def check_privileged(obj: Mapping[str, Any], ctx: LintContext, pod: Pod | None) -> Iterator[Hit]:
    """privileged or SYS_ADMIN in a container that keeps running (seed 002: only init containers)."""
    for c in pod.containers if pod else ():
        if not c.long_running:
            continue
        context = as_map(c.c.get("securityContext"))
        if context.get("privileged") is True:
            yield Hit(
                (*c.path, "securityContext", "privileged"),
                f"container {c.name!r} runs privileged for its whole life",
                hint="do the privileged setup in an init container (e.g. pattern init/sysctl) and run the app "
                     "unprivileged",
            )
        for index, cap in enumerate(as_list(as_map(context.get("capabilities")).get("add"))):
            if str(cap).upper().removeprefix("CAP_") in ("SYS_ADMIN", "ALL"):
                yield Hit((*c.path, "securityContext", "capabilities", "add", index),
                          f"container {c.name!r} adds capability {cap} for its whole life",
                          hint="do the privileged setup in an init container and run the app without it")


def _explained(obj: Mapping[str, Any]) -> bool:
    notes = pod_annotations(obj)
    patterns = {p.strip() for p in str(notes.get(PATTERNS_ANNOTATION, "")).split(",")}
    return bool(str(notes.get(REASON_ANNOTATION, "")).strip()) or bool(patterns & _EXPLAINED_BY_PATTERN)


def check_process_sharing(obj: Mapping[str, Any], ctx: LintContext, pod: Pod | None) -> Iterator[Hit]:
    """SYS_PTRACE or shareProcessNamespace without a stated reason (seed 000).

    https://kubernetes.io/docs/tasks/configure-pod-container/share-process-namespace/
    """
    if pod is None:
        return
    hits = list(_process_sharing(pod))
    if hits and not _explained(obj):    # the reason is looked for only when there is something to explain
        yield from hits


def _process_sharing(pod: Pod) -> Iterator[Hit]:
    path, spec = pod.spec_path, pod.spec
    hint = f"if it is needed (e.g. to send SIGHUP to the app), say why in the annotation {REASON_ANNOTATION}"
    if spec.get("shareProcessNamespace") is True:
        yield Hit(
            (*path, "shareProcessNamespace"),
            "shareProcessNamespace exposes every container's processes, environment and files (/proc/<pid>/root) to "
            "the others",
            hint=hint,
        )
    for c in pod.containers:
        for index, cap in enumerate(as_list(as_map(as_map(c.c.get("securityContext")).get("capabilities")).get("add"))):
            if str(cap).upper().removeprefix("CAP_") == "SYS_PTRACE":
                yield Hit(
                    (*c.path, "securityContext", "capabilities", "add", index),
                    f"container {c.name!r} adds SYS_PTRACE: it can read the memory of other processes it sees",
                    hint=hint,
                )


def check_run_as_non_root(obj: Mapping[str, Any], ctx: LintContext, pod: Pod | None) -> Iterator[Hit]:
    """runAsNonRoot not set to true for a container (neither in the pod nor the container securityContext)."""
    if pod is None:
        return
    pod_context = as_map(pod.spec.get("securityContext"))
    pod_level = pod_context.get("runAsNonRoot") is True
    for c in pod.containers:
        context = as_map(c.c.get("securityContext"))
        own = context.get("runAsNonRoot")
        if own is True or (pod_level and own is None):
            continue
        user = context.get("runAsUser", pod_context.get("runAsUser"))
        if own is None and isinstance(user, int) and not isinstance(user, bool) and user != 0:
            continue    # a non-zero runAsUser does not run as root, whatever the image says
        if not c.long_running and context.get("privileged") is True:
            continue    # privileged setup belongs in an init container (MK009), and it runs as root
        yield Hit((*c.path, "securityContext", "runAsNonRoot") if own is not None else c.path,
                  f"container {c.name!r} may run as root: runAsNonRoot is {'false' if own is False else 'not set'}",
                  hint="set securityContext.runAsNonRoot: true (and a runAsUser) in the pod or the container")


def check_plaintext_secret(obj: Mapping[str, Any], ctx: LintContext, pod: Pod | None) -> Iterator[Hit]:
    """A Secret with readable values in a file that sops did not encrypt."""
    if obj.get("kind") != "Secret" or not ctx.file or ctx.encrypted:
        return
    for field in ("data", "stringData"):
        plain = sorted(k for k, v in as_map(obj.get(field)).items() if not is_reference(v) and not _sealed(v))
        if plain:
            yield Hit((field,), f"Secret {field} holds plaintext values ({', '.join(plain)}) in a file that is not "
                      "sops-encrypted",
                      hint="encrypt the file with sops, or use a secret reference (ref+vault://..., an ExternalSecret)")


def _sealed(value: Any) -> bool:
    """A value sops encrypted in place (``ENC[AES256_GCM,...]``)."""
    return str(value).startswith("ENC[")


def check_host_path(obj: Mapping[str, Any], ctx: LintContext, pod: Pod | None) -> Iterator[Hit]:
    """A hostPath volume: the pod reads or writes the node's file system."""
    if pod is None:
        return
    path, spec = pod.spec_path, pod.spec
    for index, volume in enumerate(as_list(spec.get("volumes"))):
        host = as_map(volume).get("hostPath")
        if host is not None:
            yield Hit((*path, "volumes", index, "hostPath"),
                      f"volume {as_map(volume).get('name')!r} mounts the node's {as_map(host).get('path', '?')}",
                      hint="use an emptyDir, a ConfigMap/Secret or a PersistentVolumeClaim")


_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _previous(obj: Mapping[str, Any], ctx: LintContext) -> Mapping[str, Any] | None:
    if object_key(obj) in ctx.previous:
        return ctx.previous[object_key(obj)]
    text = as_map(as_map(obj.get("metadata")).get("annotations")).get(_LAST_APPLIED)
    try:
        old = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return old if isinstance(old, Mapping) else None


def check_roleref_change(obj: Mapping[str, Any], ctx: LintContext, pod: Pod | None) -> Iterator[Hit]:
    """A RoleBinding whose roleRef differs from the known previous version: the API
    refuses the update, the binding must be deleted and created again.

    https://kubernetes.io/docs/reference/access-authn-authz/rbac/#clusterrolebinding-example
    """
    if obj.get("kind") not in ("RoleBinding", "ClusterRoleBinding"):
        return
    old = _previous(obj, ctx)
    new_ref, old_ref = as_map(obj.get("roleRef")), as_map(old.get("roleRef")) if old else {}
    if old_ref and new_ref and dict(old_ref) != dict(new_ref):
        yield Hit(
            ("roleRef",),
            f"roleRef changed from {old_ref.get('kind')}/{old_ref.get('name')} to "
            f"{new_ref.get('kind')}/{new_ref.get('name')}; roleRef is immutable, so applying this fails unless the "
            f"binding is recreated",
            hint="give the binding a new name (the old one gets pruned), or let the deploy tool replace it (Argo CD: "
                 "Replace=true)",
        )


def check_read_only_root(obj: Mapping[str, Any], ctx: LintContext, pod: Pod | None) -> Iterator[Hit]:
    """(Off by default.) A running container whose root file system is writable."""
    for c in pod.containers if pod else ():
        if c.long_running and as_map(c.c.get("securityContext")).get("readOnlyRootFilesystem") is not True:
            yield Hit(c.path, f"container {c.name!r} can write to its root file system",
                      hint="set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where it must write")
