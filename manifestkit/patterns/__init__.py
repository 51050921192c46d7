"""The pattern registry: every built-in pattern by `<role>/<name>`, built from one list of records.

A pattern is a function over one pod template returning data (PatternOutput); the one
merge function in :mod:`manifestkit.patterns.apply` applies it. Users add patterns as YAML
files in their project's `patterns/` folder or as Python entry points in the group
`manifestkit.patterns` (see :mod:`manifestkit.patterns.user`).
"""

from __future__ import annotations

from manifestkit.patterns import adapters, ambassadors, generic, inits, sidecars, vault_agent
from manifestkit.patterns.model import ROLES, Pattern, PatternError, PatternInput, PatternOutput, by_name

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
    Pattern(name="vault/agent", apply=vault_agent.vault_agent),
)

__all__ = ["PATTERNS", "Pattern", "PatternError", "PatternInput", "PatternOutput"]
