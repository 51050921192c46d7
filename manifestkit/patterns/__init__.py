"""The pattern registry: every built-in pattern by `<role>/<name>`, built from one list of records.

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
from manifestkit.patterns.model import ROLES, Pattern, PatternError, PatternInput, PatternOutput, by_name

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


# Each built-in's name is written once, in its record; the generic patterns are named after their roles.
PATTERNS: dict[str, Pattern] = by_name(
    *(Pattern(name=name, schema="generic", repeatable=True,
              apply=generic.running_helper if role.long_running else generic.init_helper)
      for name, role in ROLES.items() if role.user),
    Pattern(name="sidecar/log-tailer", apply=sidecars.log_tailer),
    Pattern(name="sidecar/envoy", apply=sidecars.envoy),
    Pattern(name="sidecar/config-reloader", apply=sidecars.config_reloader),
    Pattern(name="sidecar/redis-cache", apply=sidecars.redis_cache),
    Pattern(name="ambassador/tls-proxy", apply=ambassadors.tls_proxy),
    Pattern(name="ambassador/tunnel", apply=ambassadors.tunnel),
    Pattern(name="adapter/prometheus-exporter", apply=adapters.prometheus_exporter),
    Pattern(name="init/sysctl", apply=inits.sysctl),
    Pattern(name="init/fetch", apply=inits.fetch),
    Pattern(name="init/migrate", apply=inits.migrate),
    Pattern(name="init/wait-for", apply=inits.wait_for, repeatable=True),
    Pattern(name="vault/agent", schema=vault_agent_schema, apply=vault_agent),
)

__all__ = ["PATTERNS", "Pattern", "PatternError", "PatternInput", "PatternOutput"]
