"""Secret output modes: the registry of what a Secret holding references becomes in the rendered output.

One :class:`Mode` per name in :data:`MODES` (a literal registry, as pre-commit keeps its
languages). A mode converts one :class:`~manifestkit.secrets.jobs.SecretJob` (a Secret
whose values may hold refs) into the objects that replace it:

- ``secret``: a Kubernetes Secret with the resolved values (:mod:`.mode_secret`);
- ``sops``: the same Secret encrypted sops-style for KSOPS or Flux (:mod:`.mode_sops`);
- ``external-secret``: an ExternalSecret plus its SecretStore (:mod:`.mode_eso`);
- ``reference``: Argo CD Vault Plugin placeholders, left unresolved (:mod:`.mode_reference`);
- ``vault-agent``: nothing here; the pods that use the Secret get the ``vault/agent``
  pattern (see :mod:`manifestkit.secrets.agent_delivery`).

Importing this module is cheap: no Vault client (hvac, requests) is loaded, so the CLI and
the schemas may take their choices from :data:`MODES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from manifestkit.model import Resource
from manifestkit.secrets.jobs import ModeContext, SecretJob, only_vault
from manifestkit.secrets.mode_eso import to_external_secret
from manifestkit.secrets.mode_reference import to_reference
from manifestkit.secrets.mode_secret import to_secret
from manifestkit.secrets.mode_sops import to_sops


@dataclass(frozen=True, slots=True, kw_only=True)
class Mode:
    """``convert`` turns a job into the objects that replace the Secret; ``resolves`` modes
    read the values at render time (Vault, sops files, env); ``in_pod`` modes deliver the
    values inside the pods instead (the step rewrites those pods)."""

    convert: Callable[[SecretJob, ModeContext], list[Resource]]
    resolves: bool = False
    in_pod: bool = False


def to_vault_agent(job: SecretJob, ctx: ModeContext) -> list[Resource]:
    """Nothing is emitted for the Secret: the step gives the pods that use it a Vault agent."""
    only_vault(job, "vault-agent")
    return []


MODES: dict[str, Mode] = {
    "secret": Mode(convert=to_secret, resolves=True),
    "sops": Mode(convert=to_sops, resolves=True),
    "vault-agent": Mode(convert=to_vault_agent, in_pod=True),
    "external-secret": Mode(convert=to_external_secret),
    "reference": Mode(convert=to_reference),
}

# The modes whose Secrets need their refs read at render time.
RESOLVING = tuple(name for name, mode in MODES.items() if mode.resolves)
