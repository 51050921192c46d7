"""The output formats by `--format` name."""

from __future__ import annotations

from manifestkit.emit import EmitInput, Emitted, Format
from manifestkit.emit.plain import emit_plain


def _kustomize(job: EmitInput) -> Emitted:
    from manifestkit.emit.kustomize import emit_kustomize  # jsonpatch and the feature finder: Kustomize only

    return emit_kustomize(job)


def _helm(job: EmitInput) -> Emitted:
    from manifestkit.emit.helm import emit_helm  # the chart writers: Helm only

    return emit_helm(job)


EMITTERS: dict[str, Format] = {
    "plain": Format(emit=emit_plain),
    "kustomize": Format(emit=_kustomize, needs_base=True),
    "helm": Format(emit=_helm, needs_base=True, needs_hmac_key=True, opens_sops=True),
}
