"""The pattern registry: every built-in pattern by `<role>/<name>`, as one literal dict.

A pattern is a function over one pod template returning data (PatternOutput); the one
merge function in :mod:`manifestkit.patterns.apply` applies it. Users add patterns as YAML
files in their project's `patterns/` folder or as Python entry points in the group
`manifestkit.patterns` (see :mod:`manifestkit.patterns.user`).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from manifestkit.patterns import adapters, ambassadors, generic, inits, sidecars
from manifestkit.patterns.model import Pattern, PatternError, PatternInput, PatternOutput

VAULT_AGENT_MODULE = "manifestkit.secrets.vault_agent"


def _vault_module() -> Any:
    """`vault/agent` lives with the secrets (manifestkit.secrets.vault_agent); loaded when first used."""
    try:
        return importlib.import_module(VAULT_AGENT_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != VAULT_AGENT_MODULE:
            raise
        raise PatternError("vault/agent is not available in this build of manifestkit",
                           hint="use `secrets.output: vault-agent` once the Vault issue lands, "
                                "or another pattern meanwhile") from None


def vault_agent_schema() -> Mapping[str, Any]:
    schema: Mapping[str, Any] = _vault_module().SCHEMA
    return schema


def vault_agent(inp: PatternInput) -> PatternOutput:
    result: PatternOutput = _vault_module().vault_agent(inp)
    return result


PATTERNS: dict[str, Pattern] = {
    "sidecar": Pattern("sidecar", "generic", generic.running_helper, repeatable=True),
    "ambassador": Pattern("ambassador", "generic", generic.running_helper, repeatable=True),
    "adapter": Pattern("adapter", "generic", generic.running_helper, repeatable=True),
    "init": Pattern("init", "generic", generic.init_helper, repeatable=True, long_running=False),
    "sidecar/log-tailer": Pattern("sidecar/log-tailer", "sidecar-log-tailer", sidecars.log_tailer),
    "sidecar/envoy": Pattern("sidecar/envoy", "sidecar-envoy", sidecars.envoy),
    "sidecar/config-reloader": Pattern("sidecar/config-reloader", "sidecar-config-reloader", sidecars.config_reloader),
    "sidecar/redis-cache": Pattern("sidecar/redis-cache", "sidecar-redis-cache", sidecars.redis_cache),
    "ambassador/tls-proxy": Pattern("ambassador/tls-proxy", "ambassador-tls-proxy", ambassadors.tls_proxy),
    "ambassador/tunnel": Pattern("ambassador/tunnel", "ambassador-tunnel", ambassadors.tunnel),
    "adapter/prometheus-exporter": Pattern("adapter/prometheus-exporter", "adapter-prometheus-exporter",
                                           adapters.prometheus_exporter),
    "init/sysctl": Pattern("init/sysctl", "init-sysctl", inits.sysctl, long_running=False),
    "init/fetch": Pattern("init/fetch", "init-fetch", inits.fetch, long_running=False),
    "init/migrate": Pattern("init/migrate", "init-migrate", inits.migrate, long_running=False),
    "init/wait-for": Pattern("init/wait-for", "init-wait-for", inits.wait_for, repeatable=True, long_running=False),
    "vault/agent": Pattern("vault/agent", vault_agent_schema, vault_agent),
}

__all__ = ["PATTERNS", "Pattern", "PatternError", "PatternInput", "PatternOutput"]
