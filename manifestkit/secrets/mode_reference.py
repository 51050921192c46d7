"""Secret output ``reference``: refs rewritten as Argo CD Vault Plugin placeholders, left unresolved."""

from __future__ import annotations

from typing import Any

from manifestkit.model import Resource
from manifestkit.secrets.jobs import ModeContext, SecretJob, job_error, only_vault
from manifestkit.secrets.mode_secret import settled, template_version
from manifestkit.secrets.refs import Ref, substitute, to_avp

AVP_PATH_ANNOTATION = "avp.kubernetes.io/path"


def to_reference(job: SecretJob, ctx: ModeContext) -> list[Resource]:
    """Refs rewritten as AVP placeholders. When every ref shares one path and none pins a
    version, the path goes to ``avp.kubernetes.io/path`` and placeholders are ``<key>``."""
    only_vault(job, "reference")
    refs = job.refs
    paths = {ref.path for ref in refs}
    short = len(paths) == 1 and all(len(r.key) == 1 and not r.query for r in refs)

    def placeholder(ref: Ref) -> str:
        try:
            return f"<{ref.key[0]}>" if short else to_avp(ref)
        except ValueError as exc:
            raise job_error(job, str(exc)) from None

    secret = job.resource.obj
    obj: dict[str, Any] = {k: v for k, v in secret.items() if k not in ("data", "stringData")}
    if job.encoded:
        obj["data"] = dict(sorted(job.encoded.items()))
    string_data = {**job.plain, **{k: str(substitute(v, placeholder)) for k, v in job.templates.items()}}
    if string_data:
        obj["stringData"] = dict(sorted(string_data.items()))
    if short:
        meta = dict(secret.get("metadata") or {})
        meta["annotations"] = {**(meta.get("annotations") or {}), AVP_PATH_ANNOTATION: next(iter(paths))}
        obj["metadata"] = meta
    return [settled(job, obj, secret_version=template_version(job))]
