"""The ``vault/agent`` pattern (seed 000): Vault agent renders files from Vault into the pod.

``mode: sidecar`` (default) adds an init container that logs in, renders every template
once and exits (``exit_after_auth``), and a sidecar that re-renders on change and runs a
command that signals the app (HUP through ``shareProcessNamespace``; no capabilities, so the
app must run as the agent's user, which :func:`check_signal` checks). Both run as the app's
user with a read-only root and small resources, write to an emptyDir with ``medium: Memory``
and read their HCL configuration (generated from templates/vault-agent/) and the templates from a
ConfigMap. ``mode: injector`` emits Vault Agent Injector annotations instead
(https://developer.hashicorp.com/vault/docs/platform/k8s/injector/annotations).

Templates are consul-template text (``{{ with secret "secret/data/web" }}...``); the
secrets step turns Secrets holding vault refs into such templates
(:mod:`manifestkit.secrets.go_templates`). ``with:`` is checked against
schemas/patterns/vault-agent.schema.json, like every built-in pattern's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from manifestkit.patterns.model import Obj, PatternError, PatternInput, PatternOutput
from manifestkit.patterns.vault_agent_config import (
    CONFIG_DIR,
    CONFIG_VOLUME,
    DEFAULT_IMAGE,
    DEFAULT_MOUNT,
    SECRETS_VOLUME,
    Template,
    agent_configs,
)
from manifestkit.patterns.vault_agent_injector import first_path, injector

__all__ = ["app_user", "check_signal", "first_path", "vault_agent"]


def _templates(params: Mapping[str, Any]) -> list[Template]:
    out = [Template(str(t["file"]), str(t["template"]), str(t.get("path", "")), str(t.get("volumePath", "")),
                    str(t.get("injectFile", ""))) for t in params.get("templates") or []]
    if not out:
        raise PatternError("found no templates; expected at least one {file, template}", ("templates",))
    files = [t.file for t in out]
    twice = sorted({f for f in files if files.count(f) > 1})
    if twice:
        raise PatternError(f"template file {twice[0]!r} is given twice; expected each file once", ("templates",))
    return sorted(out, key=lambda t: t.file)


def _app_container(pod: Mapping[str, Any], params: Mapping[str, Any]) -> Mapping[str, Any]:
    containers = (pod.get("spec") or {}).get("containers") or []
    wanted = params.get("container")
    for container in containers:
        if wanted is None or container.get("name") == wanted:
            return dict(container)
    names = ", ".join(str(c.get("name")) for c in containers)
    raise PatternError(f"found no app container {wanted!r}; expected one of: {names}", ("container",))


def _user_id(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise PatternError(f"found runAsUser {value!r}; expected a numeric user id", ("runAsUser",),
                       hint="Kubernetes runs containers by numeric id: write e.g. runAsUser: 101")


def app_user(pod: Mapping[str, Any], params: Mapping[str, Any]) -> int:
    """The app's user: ``with.runAsUser``, else the app container's, else the pod's."""
    if params.get("runAsUser") is not None:
        return _user_id(params["runAsUser"])
    container = _app_container(pod, params)
    for context in (container.get("securityContext"), (pod.get("spec") or {}).get("securityContext")):
        if isinstance(context, Mapping) and context.get("runAsUser") is not None:
            return _user_id(context["runAsUser"])
    raise PatternError(
        f"cannot tell which user container {container.get('name')!r} runs as; the Vault agent must run as the "
        f"app's user to share its files",
        ("runAsUser",),
        hint="set securityContext.runAsUser on the container or the pod, or runAsUser in `with:` "
             "(spec.secrets.vaultAgent.runAsUser for secrets output vault-agent)",
    )


def _container_user(pod: Mapping[str, Any], container: Mapping[str, Any]) -> int | None:
    """The user a container runs as, when the pod says: its own ``runAsUser``, else the pod's."""
    for context in (container.get("securityContext"), (pod.get("spec") or {}).get("securityContext")):
        if isinstance(context, Mapping) and context.get("runAsUser") is not None:
            return int(context["runAsUser"])
    return None


def check_signal(pod: Mapping[str, Any], params: Mapping[str, Any], agent_user: int) -> None:
    """The sidecar can signal the app only as the app's own user.

    kill(2) needs the same real or effective user, or CAP_KILL; a capability added to a
    non-root container is not effective (Kubernetes sets no ambient capabilities), so the
    only fix is one user: https://man7.org/linux/man-pages/man2/kill.2.html
    """
    container = _app_container(pod, params)
    name = container.get("name")
    target = _container_user(pod, container)
    if target is None:
        raise PatternError(
            f"the agent signals {params.get('process')!r} in container {name!r} as user {agent_user}, but the "
            f"container's user is not set, so it runs as its image's user (root for the official nginx image) "
            f"and the signal fails with 'Operation not permitted'",
            ("process",),
            hint=f"set securityContext.runAsUser: {agent_user} on container {name!r} (an image that runs "
                 f"unprivileged, e.g. nginxinc/nginx-unprivileged), or reload with `command:` instead")
    if target != agent_user:
        raise PatternError(
            f"the agent runs as user {agent_user} but signals {params.get('process')!r} in container {name!r}, "
            f"which runs as user {target}; the signal fails with 'Operation not permitted'",
            ("runAsUser",),
            hint=f"run both as one user: drop runAsUser from `with:` or set it to {target}, and make the app "
                 f"run as a non-root user if it is 0")


# Small, fixed resources: the agent renders a few files; production overlays may raise them.
AGENT_RESOURCES = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}}


def _agent(name: str, config: str, user: int, mount: str) -> Obj:
    # No capabilities: SKIP_SETCAP keeps the image from needing IPC_LOCK, and signalling a
    # process of the same user needs none (Pod Security baseline/restricted refuse both).
    return {
        "name": name,
        "image": "",
        "args": ["agent", f"-config={CONFIG_DIR}/{config}"],
        "env": [{"name": "SKIP_SETCAP", "value": "true"}],
        "resources": {k: dict(v) for k, v in AGENT_RESOURCES.items()},   # fresh: no YAML anchors
        "securityContext": {
            "runAsUser": user,
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": CONFIG_VOLUME, "mountPath": CONFIG_DIR, "readOnly": True},
                         {"name": SECRETS_VOLUME, "mountPath": mount}],
    }


def vault_agent(inp: PatternInput) -> PatternOutput:
    """Pattern ``vault/agent``: ``mode: sidecar`` (init + re-render sidecar) or ``injector``."""
    params = inp.params
    templates = _templates(params)
    user = app_user(inp.pod, params)
    if params.get("process"):
        check_signal(inp.pod, params, user)
    if params.get("mode", "sidecar") == "injector":
        return injector(inp, templates, user)
    mount = str(params.get("mountPath") or DEFAULT_MOUNT)
    image = str(params.get("image") or DEFAULT_IMAGE)
    signals = bool(params.get("command") or params.get("process"))
    init = {**_agent("vault-agent-init", "init.hcl", user, mount), "image": image}
    sidecar = {**_agent("vault-agent", "agent.hcl", user, mount), "image": image}
    config_map = f"{inp.name}-vault-agent"
    app_names = params.get("mountInto")
    if app_names is None:
        app_names = [c["name"] for c in (inp.pod.get("spec") or {}).get("containers") or []]
    mounts = {str(n): ({"name": SECRETS_VOLUME, "mountPath": mount, "readOnly": True},) for n in app_names}
    meta: dict[str, Any] = {"name": config_map}
    if inp.namespace:
        meta["namespace"] = inp.namespace
    return PatternOutput(
        containers=(sidecar,),
        init_containers=(init,),
        volumes=({"name": CONFIG_VOLUME, "configMap": {"name": config_map}},
                 {"name": SECRETS_VOLUME, "emptyDir": {"medium": "Memory"}}),
        mounts=mounts,
        pod_fields={"shareProcessNamespace": True} if signals else {},
        objects=({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                  "data": agent_configs(params, templates, mount)},),
    )
