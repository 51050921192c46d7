"""Secret output ``sops``: the resolved Secret encrypted sops-style (``encrypted_regex: ^(data|stringData)$``) for KSOPS or Flux."""

from __future__ import annotations

from manifestkit.diagnostics import ManifestkitError
from manifestkit.model import Resource
from manifestkit.secrets.jobs import ModeContext, SecretJob, job_error
from manifestkit.secrets.mode_secret import RESOLVED, resolved_secret
from manifestkit.secrets.sops_encrypt import encrypt_tree
from manifestkit.yaml_dump import k8s_order

SOPS_ENCRYPTED_REGEX = "^(data|stringData)$"


def to_sops(job: SecretJob, ctx: ModeContext) -> list[Resource]:
    """The resolved Secret encrypted to ``spec.secrets.sops`` recipients.

    sops seals every value with a fresh IV under a fresh data key, so two renders of the
    same values differ in bytes (documented in docs/secrets.md).
    """
    config = ctx.settings.get("sops") or {}
    age = [str(r) for r in config.get("ageRecipients") or []]
    pgp = [str(f) for f in config.get("pgpFingerprints") or []]
    if not age and not pgp:
        raise job_error(job, "secrets output sops needs recipients, but spec.secrets.sops has no ageRecipients "
                             "or pgpFingerprints",
                        hint="add spec.secrets.sops.ageRecipients: [age1...] to manifestkit.yaml")
    plain = resolved_secret(job, ctx)
    tree = k8s_order(plain.obj)   # the order the file is written in: sops' MAC covers document order
    try:
        sealed = encrypt_tree(tree, age_recipients=age, pgp_fingerprints=pgp,
                              gnupghome=ctx.environ.get("GNUPGHOME") or None,
                              encrypted_regex=SOPS_ENCRYPTED_REGEX, now=ctx.now)
    except ManifestkitError as exc:
        raise job_error(job, f"cannot encrypt for sops: {exc.diagnostics[0].message}",
                        hint=exc.diagnostics[0].hint) from None
    extra = {k: v for k, v in plain.extra.items() if k != RESOLVED}
    return [plain._replace(obj=sealed, extra={**extra, "sops": True})]
