"""The records a secret output mode works with: the job (one Secret split by kind of value), its context, the
resolver."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.model import Resource, Source
from manifestkit.redact import SecretStr
from manifestkit.secrets.refs import Ref, find_refs, has_refs


class Resolved(NamedTuple):
    value: SecretStr
    version: str  # Vault KV version, sops file MAC, "" for env and file


Resolver = Callable[[Ref, Source], Resolved]    # (ref, where the resource was written) → value and version


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretJob:
    """One Secret to convert. ``templates`` are values holding refs (plain text around them);
    ``plain`` are values without refs (plain text); ``encoded`` are ``data`` values without refs
    (base64 as written, possibly binary)."""

    resource: Resource
    templates: Mapping[str, str]
    plain: Mapping[str, str]
    encoded: Mapping[str, str]

    @property
    def refs(self) -> list[Ref]:
        return [ref for key in sorted(self.templates) for ref in find_refs(self.templates[key])]


@dataclass(frozen=True, slots=True, kw_only=True)
class ModeContext:
    """What a mode may use: the Project's ``spec.secrets``, the resolver, the environment."""

    settings: Mapping[str, Any]              # Project spec.secrets
    resolve: Resolver
    environ: Mapping[str, str]
    now: datetime | None = None              # sops ``lastmodified``; None = the clock


def job_of(resource: Resource) -> SecretJob:
    """Split a Secret's values: with refs (plain text), without (plain), ``data`` without (base64)."""
    templates: dict[str, str] = {}
    encoded: dict[str, str] = {}
    for key, value in (resource.obj.get("data") or {}).items():
        if isinstance(value, str) and has_refs(value):
            templates[key] = value
        elif value is not None:
            encoded[key] = str(value)
    plain: dict[str, str] = {}
    for key, value in (resource.obj.get("stringData") or {}).items():
        encoded.pop(key, None)          # stringData wins over data, as in the API server
        templates.pop(key, None)
        text = value if isinstance(value, str) else str(value)
        (templates if has_refs(text) else plain)[key] = text
    return SecretJob(resource=resource, templates=templates, plain=plain, encoded=encoded)


def located(resource: Resource) -> dict[str, Any]:
    """``file`` and ``line`` of a resource's source, as Diagnostic fields."""
    return {"file": resource.source.file, "line": resource.source.line}


def job_error(job: SecretJob, message: str, hint: str = "") -> ManifestkitError:
    return ManifestkitError(
        [Diagnostic(message=f"{job.resource.ref()}: {message}", hint=hint, **located(job.resource))]
    )


def only_vault(job: SecretJob, mode: str) -> None:
    """Modes that hand the refs to something in the cluster can only name Vault paths."""
    others = sorted({ref.raw for ref in job.refs if ref.scheme != "vault"})
    if others:
        raise job_error(job, f"secrets output {mode} reads only Vault, but found {', '.join(others)}",
                        hint="set `output: secret` or `output: sops` on this Secret, or move the values to Vault")
