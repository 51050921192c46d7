"""The ``vault/agent`` pattern's ``mode: injector``: every option mapped to a Vault Agent Injector annotation, or
refused with the reason.

The annotation names are those of hashicorp/vault-k8s ``agent-inject/agent/annotations.go``
(the ``Annotation*`` constants; ``agent-share-process-namespace`` from vault-k8s 1.1+),
https://developer.hashicorp.com/vault/docs/platform/k8s/injector/annotations. Kubernetes
limits the name part of an annotation key (after ``/``) to 63 characters:
https://kubernetes.io/docs/concepts/overview/working-with-objects/annotations/#syntax-and-character-set
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from manifestkit.patterns.model import PatternError, PatternInput, PatternOutput
from manifestkit.patterns.vault_agent_config import DEFAULT_MOUNT, INJECT, Template, reload_command

# Pod-wide annotations (vault-k8s annotations.go), without the `vault.hashicorp.com/` prefix.
POD_ANNOTATIONS = frozenset({
    "agent-inject", "agent-inject-status", "agent-inject-token", "agent-inject-default-template", "agent-image",
    "agent-request-namespace", "agent-init-first", "agent-pre-populate", "agent-pre-populate-only", "agent-configmap",
    "agent-extra-secret", "agent-limits-cpu", "agent-limits-mem", "agent-requests-cpu", "agent-requests-mem",
    "agent-revoke-on-shutdown", "agent-revoke-grace", "namespace", "agent-run-as-user", "agent-run-as-group",
    "agent-run-as-same-user", "agent-share-process-namespace", "agent-set-security-context",
    "agent-service-account-token-volume-name", "service", "proxy-address", "tls-skip-verify", "tls-secret",
    "tls-server-name", "ca-cert", "ca-key", "client-cert", "client-key", "client-max-retries", "client-timeout",
    "log-level", "log-format", "role", "auth-type", "auth-path", "secret-volume-path", "preserve-secret-case",
    "agent-cache-enable", "agent-cache-use-auto-auth-token", "agent-cache-listener-port", "agent-cache-exit-on-err",
    "agent-copy-volume-mounts", "template-config-exit-on-retry-failure", "template-static-secret-render-interval",
})
# Per-secret annotations: `<prefix><name>`, where <name> is the one of an `agent-inject-secret-<name>`.
# The injector finds secrets by substring (`strings.Contains(key, "agent-inject-secret-")`) and the
# template of <name> at `agent-inject-template-<name>`, so a name `file-x` would read as the
# `agent-inject-template-file-` prefix: such names are mapped (:func:`annotation_name`).
SECRET = "agent-inject-secret-"
PER_SECRET = (SECRET, "agent-inject-template-file-", "agent-inject-template-", "agent-inject-file-",
              "agent-inject-command-", "agent-inject-perms-", "secret-volume-path-", "preserve-secret-case-",
              "auth-config-")
MAX_NAME = 63            # Kubernetes: the name part of a qualified key
_LONGEST = max(len(p) for p in (SECRET, "agent-inject-template-", "agent-inject-command-"))
_QUALIFIED = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")


def annotation_name(file: str) -> str:
    """The injector's secret name for a file: lower case (the injector lowers it too), not
    starting with ``file-``, short enough that every per-secret key fits 63 characters."""
    name = re.sub(r"[^a-z0-9.]+", "-", file.lower()).strip("-.") or "file"
    if name.startswith("file-"):
        name = f"f-{name}"
    room = MAX_NAME - _LONGEST
    if len(name) > room:
        digest = hashlib.sha256(file.encode()).hexdigest()[:8]
        name = f"{name[:room - 9].rstrip('-.')}-{digest}"
    return name


def check_annotations(annotations: Mapping[str, str]) -> list[str]:
    """Problems the injector or the API server would have with these annotations."""
    problems = []
    secrets = {k[len(INJECT) + len(SECRET):] for k in annotations if k.startswith(INJECT + SECRET)}
    for key in sorted(annotations):
        if not key.startswith(INJECT):
            continue
        name = key[len(INJECT):]
        if len(name) > MAX_NAME or not _QUALIFIED.fullmatch(name):
            problems.append(f"annotation {key!r}: the name after '/' must be at most {MAX_NAME} characters of "
                            f"[-A-Za-z0-9_.], starting and ending alphanumeric")
        if name in POD_ANNOTATIONS:
            continue
        prefix = next((p for p in PER_SECRET if name.startswith(p)), None)
        if prefix is None:
            problems.append(f"annotation {key!r} is not a Vault Agent Injector annotation")
        elif prefix not in (SECRET, "auth-config-") and name[len(prefix):] not in secrets:
            problems.append(f"annotation {key!r} names no secret of an agent-inject-secret-* annotation")
    return problems


def _refuse(params: Mapping[str, Any], pod: Mapping[str, Any]) -> None:
    if params.get("mountInto"):
        raise PatternError("mode injector mounts the secrets into every container; found mountInto, which the "
                           "Vault Agent Injector has no annotation for", ("mountInto",),
                           hint="remove mountInto, or use mode: sidecar")
    if (pod.get("spec") or {}).get("automountServiceAccountToken") is False:
        raise PatternError("mode injector logs in with the pod's service account token, but the pod sets "
                           "automountServiceAccountToken: false, so the agent cannot log in", ("mode",),
                           hint="remove automountServiceAccountToken: false, or use mode: sidecar")


def _pod_annotations(params: Mapping[str, Any], user: int, command: str) -> dict[str, str]:
    mapped = {"agent-inject": "true", "role": str(params["role"]), "agent-run-as-user": str(user),
              "service": params.get("address"), "auth-path": params.get("authPath"),
              "agent-image": params.get("image"), "template-static-secret-render-interval": params.get("interval"),
              "agent-share-process-namespace": "true" if command else None}
    return {f"{INJECT}{k}": str(v) for k, v in mapped.items() if v}


def _secret_annotations(templates: Sequence[Template], mount: str, command: str) -> dict[str, str]:
    out: dict[str, str] = {}
    owners: dict[str, str] = {}
    for t in templates:
        name = annotation_name(t.file)
        if name in owners:
            raise PatternError(f"template files {owners[name]!r} and {t.file!r} both become injector secret "
                               f"{name!r}; the injector would keep only one", ("templates",),
                               hint="rename one of the files (or Secret keys)")
        owners[name] = t.file
        if t.volume_path:
            folder, file = t.volume_path, t.inject_file or t.file.rsplit("/", 1)[-1]
        else:
            parent, _, file = t.file.rpartition("/")
            folder = f"{mount}/{parent}" if parent else ""
        out[f"{INJECT}{SECRET}{name}"] = t.path or first_path(t.template)
        out[f"{INJECT}agent-inject-template-{name}"] = t.template
        out[f"{INJECT}agent-inject-file-{name}"] = file
        if folder:
            out[f"{INJECT}secret-volume-path-{name}"] = folder
        if command:
            out[f"{INJECT}agent-inject-command-{name}"] = command
    return out


def injector(inp: PatternInput, templates: Sequence[Template], user: int) -> PatternOutput:
    """Vault Agent Injector annotations: the webhook adds the agents itself."""
    params = inp.params
    _refuse(params, inp.pod)
    command = reload_command(params)
    mount = str(params.get("mountPath") or DEFAULT_MOUNT)
    annotations = {**_pod_annotations(params, user, command), **_secret_annotations(templates, mount, command)}
    if mount != DEFAULT_MOUNT:
        annotations[f"{INJECT}secret-volume-path"] = mount
    problems = check_annotations(annotations)
    if problems:
        raise PatternError(f"{problems[0]}", ("templates",))
    return PatternOutput(annotations=annotations)


def first_path(template: str) -> str:
    found = re.search(r'with secret "([^"?]+)', template)
    return found.group(1) if found else ""

