"""Secret output ``secret``: every value resolved into ``data`` (base64), with a version for the checksum step.

Resolved values stay :class:`~manifestkit.redact.SecretStr` until they are base64-encoded
into the Secret object, the one place they may be. A Secret is always written as ``data``,
so a value's bytes never depend on YAML quoting.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import Any

from manifestkit.checksums import SECRET_VERSION
from manifestkit.model import Resource
from manifestkit.redact import SecretStr
from manifestkit.secrets.jobs import ModeContext, SecretJob
from manifestkit.secrets.refs import Ref, substitute

RESOLVED = "resolved"               # Resource.extra flag: plaintext values from refs (see hygiene)


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
        found = ctx.resolve(ref, job.resource.origin)
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
    extra: dict[str, Any] = {k: v for k, v in job.resource.extra.items() if k not in ("output", "mirror")}
    version = _versioned(job, versions)
    if version is not None:
        extra[SECRET_VERSION] = version
    if job.templates:
        extra[RESOLVED] = True
    return job.resource._replace(obj=obj, extra=extra)


def template_version(job: SecretJob) -> dict[str, Any]:
    """For modes that resolve nothing: the refs themselves are the version."""
    extra = {k: v for k, v in job.resource.extra.items() if k not in ("output", "mirror")}
    if job.templates and not job.plain and not job.encoded:
        extra[SECRET_VERSION] = version_token(f"{k}:{v}" for k, v in job.templates.items())
    return extra


def to_secret(job: SecretJob, ctx: ModeContext) -> list[Resource]:
    return [resolved_secret(job, ctx)]
