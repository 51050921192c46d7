"""The ``vault/agent`` pattern's agent configuration: the HCL files, the reload command and the template files of its
ConfigMap."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from manifestkit.templating import render_builtin

DEFAULT_IMAGE = "hashicorp/vault:1.17"
CONFIG_DIR = "/etc/vault/config"
SECRETS_VOLUME = "vault-secrets"
CONFIG_VOLUME = "vault-agent-config"
DEFAULT_MOUNT = "/vault/secrets"
INJECT = "vault.hashicorp.com/"


class Template(NamedTuple):
    file: str                 # relative to the secrets mount, e.g. "web-secret/password"
    template: str             # consul-template text
    path: str = ""            # the Vault path it reads (injector's agent-inject-secret-*)
    volume_path: str = ""     # injector only: the folder where the app sees the file
    inject_file: str = ""     # injector only: the file's path inside volume_path (may hold folders)



def hcl_string(value: str) -> str:
    """An HCL quoted string: JSON escapes plus ``${``/``%{`` (HCL template sequences) doubled."""
    return json.dumps(value).replace("${", "$${").replace("%{", "%%{")


def signal_command(process: str, signal: str = "HUP") -> str:
    """A shell command that signals ``process`` (matched in ``ps ax``) without matching itself.

    The first character goes into brackets, so the shell running the command does not
    match its own pattern (seed 000: ``grep 'nginx: maste[r]'``).
    """
    pattern = re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", process)
    bracketed = f"[{pattern[0]}]{pattern[1:]}" if pattern and pattern[0] != "\\" else pattern
    return f"pkill -{signal} -f '{bracketed}'"


def reload_command(params: Mapping[str, Any]) -> str:
    """What the sidecar runs after a re-render: ``command``, else a signal to ``process``, else nothing."""
    if params.get("command"):
        return str(params["command"])
    if params.get("process"):
        return signal_command(str(params["process"]), str(params.get("signal", "HUP")))
    return ""


def _key(index: int) -> str:
    return f"template-{index}.ctmpl"


def agent_configs(params: Mapping[str, Any], templates: Sequence[Template], mount: str) -> dict[str, str]:
    """The ConfigMap data: ``init.hcl``, ``agent.hcl`` and every template."""
    command = reload_command(params)
    context = {
        "role": hcl_string(params["role"]),
        "address": hcl_string(params.get("address") or "https://vault:8200"),
        "auth_path": hcl_string(params.get("authPath") or "auth/kubernetes"),
        "templates": [{"source": hcl_string(f"{CONFIG_DIR}/{_key(i)}"),
                       "destination": hcl_string(f"{mount.rstrip('/')}/{t.file}")}
                      for i, t in enumerate(templates)],
        "command": hcl_string(command) if command else "",
        "interval": hcl_string(params["interval"]) if params.get("interval") else "",
    }
    data = {
        "init.hcl": render_builtin("vault-agent/agent-init.hcl.j2", context).rstrip() + "\n",
        "agent.hcl": render_builtin("vault-agent/agent-sidecar.hcl.j2", context).rstrip() + "\n",
    }
    data.update((_key(i), t.template) for i, t in enumerate(templates))
    return data
