"""The pattern registry: every built-in pattern by `<role>/<name>`, as one literal dict.

A pattern is a function over one pod template returning data (PatternOutput); the one
merge function in :mod:`manifestkit.patterns.apply` applies it. Users add patterns as YAML
files in their project's `patterns/` folder or as Python entry points in the group
`manifestkit.patterns` (see :mod:`manifestkit.patterns.user`).
"""

from __future__ import annotations

from manifestkit.patterns import adapters, ambassadors, generic, inits, sidecars, vault_agent
from manifestkit.patterns.model import Pattern, PatternError, PatternInput, PatternOutput

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
    "vault/agent": Pattern("vault/agent", "vault-agent", vault_agent.vault_agent),
}

__all__ = ["PATTERNS", "Pattern", "PatternError", "PatternInput", "PatternOutput"]
