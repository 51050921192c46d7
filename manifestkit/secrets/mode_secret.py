"""Secret output ``secret``: every value resolved into ``data`` (base64), with a version for the checksum step.

Resolved values stay :class:`~manifestkit.redact.SecretStr` until they are base64-encoded
into the Secret object, the one place they may be. A Secret is always written as ``data``,
so a value's bytes never depend on YAML quoting.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from manifestkit.model import Resource
from manifestkit.redact import SecretStr
from manifestkit.secrets.jobs import ModeContext, SecretJob
from manifestkit.secrets.refs import Ref, substitute


def _b64(text: str) -> str:
    """The one place a resolved value stops being a SecretStr: encoded into the Secret."""
    raw = text.reveal() if isinstance(text, SecretStr) else text
    return base64.b64encode(raw.encode("utf-8")).decode("ascii")


def version_token(parts: Iterable[str]) -> str:
    """A short hash of version metadata; changes when any part does, never holds a value."""
    return "sha256:" + hashlib.sha256("\n".join(sorted(parts)).encode("utf-8")).hexdigest()[:32]


def _resolve_all(job: SecretJob, ctx: ModeContext) -> tuple[dict[str, SecretStr], list[tuple[str, str]]]:
    """Every template resolved (as SecretStr), and (ref, version) for each ref."""
    versions: list[tuple[str, str]] = []

    def one(ref: Ref) -> str:
        found = ctx.resolve(ref, job.resource.source)
        versions.append((ref.raw, found.version))
        return found.value

    values = {key: SecretStr(substitute(job.templates[key], one)) for key in sorted(job.templates)}
    return values, versions


def _versioned(job: SecretJob, versions: list[tuple[str, str]]) -> str | None:
    """A version for the checksum step only when every value comes from versioned refs
    (Vault KV v2, sops MAC); otherwise the checksum step falls back to its keyed HMAC."""
    if job.plain or job.encoded or not versions or any(not version for _, version in versions):
        return None
    return version_token([*(f"{k}:{v}" for k, v in job.templates.items()), *(f"{r}={v}" for r, v in versions)])


def resolved_secret(job: SecretJob, ctx: ModeContext) -> Resource:
    """The Secret with every value resolved, as ``data``."""
    values, versions = _resolve_all(job, ctx)
    obj = {key: value for key, value in job.resource.obj.items() if key not in ("data", "stringData")}
    data = {**job.encoded, **{k: _b64(v) for k, v in job.plain.items()}, **{k: _b64(v) for k, v in values.items()}}
    if data:
        obj["data"] = dict(sorted(data.items()))
    return settled(job, obj, secret_version=_versioned(job, versions), resolved=bool(job.templates))


def settled(job: SecretJob, obj: Mapping[str, Any], *, secret_version: str | None, resolved: bool = False) -> Resource:
    """The job's Secret converted to ``obj``; its entry's `mirror`/`output` settings are used up."""
    return dataclasses.replace(job.resource, obj=obj, mirror=None, secret_output=None,
                               secret_version=secret_version, resolved=resolved)


def template_version(job: SecretJob) -> str | None:
    """For modes that resolve nothing: the refs themselves are the version."""
    if job.templates and not job.plain and not job.encoded:
        return version_token(f"{k}:{v}" for k, v in job.templates.items())
    return None


def to_secret(job: SecretJob, ctx: ModeContext) -> list[Resource]:
    return [resolved_secret(job, ctx)]
