"""Secret output ``sops``: the resolved Secret encrypted sops-style (``encrypted_regex: ^(data|stringData)$``) for
KSOPS or Flux."""

from __future__ import annotations

import dataclasses

from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.model import Resource
from manifestkit.secrets.jobs import ModeContext, SecretJob, job_error, located
from manifestkit.secrets.mode_secret import resolved_secret
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
    from manifestkit.secrets.sops_encrypt import encrypt_tree  # cryptography and ruamel.yaml: only when sealing

    plain = resolved_secret(job, ctx)
    tree = k8s_order(plain.obj)   # the order the file is written in: sops' MAC covers document order
    try:
        sealed = encrypt_tree(tree, age_recipients=age, pgp_fingerprints=pgp,
                              gnupghome=ctx.environ.get("GNUPGHOME") or None,
                              encrypted_regex=SOPS_ENCRYPTED_REGEX, now=ctx.now)
    except ManifestkitError as exc:     # each problem said of this Secret, at its place
        raise ManifestkitError(Diagnostic(message=f"{job.resource.ref()}: cannot encrypt for sops: {d.message}",
                                          hint=d.hint, **located(job.resource)) for d in exc.diagnostics) from None
    return [dataclasses.replace(plain, obj=sealed, resolved=False)]
