"""Go template text: plain text as a literal (ESO and consul-template), and vault refs as the Vault agent's
consul-template actions."""

from __future__ import annotations

import json
from collections.abc import Mapping

from manifestkit.secrets.refs import Ref, find_refs
from manifestkit.secrets.vault_kv import KvLookup, KvPath, kv_path


def secret_action(ref: Ref, where: KvPath) -> str:
    """The consul-template expression for one vault ref read at ``where``.

    KV v2 keeps the fields under ``.Data.data`` and the path is written with ``data/``
    (``secret/data/app``), KV v1 under ``.Data`` (:mod:`manifestkit.secrets.vault_kv`).
    """
    if not ref.key:
        raise ValueError(f"{ref.raw!r}: a reference for the Vault agent needs a key, e.g. '#/password'")
    path = where.path + (f"?version={ref.version}" if ref.version else "")
    keys = " ".join(json.dumps(segment) for segment in ref.key)
    data = ".Data.data" if where.version == 2 else ".Data"
    return f"{{{{ with secret {json.dumps(path)} }}}}{{{{ index {data} {keys} }}}}{{{{ end }}}}"


def literal(text: str) -> str:
    """Text safe inside a Go template (ESO and consul-template): ``{{`` written as an action."""
    return text.replace("{{", "{{ `{{` }}")


def template_of(text: str, kv: Mapping[str, int] | None = None, lookup: KvLookup | None = None) -> str:
    """``text`` with every vault ref replaced by its consul-template action.

    ``kv`` is the Project's ``{mount: version}`` table, ``lookup`` asks Vault; a ref whose
    KV version neither they nor its spelling tell is a ValueError.
    """
    parts: list[str] = []
    pos = 0
    for ref in find_refs(text):
        if ref.scheme != "vault":
            raise ValueError(f"{ref.raw!r}: the Vault agent reads only Vault; found a {ref.scheme} reference")
        parts += [literal(text[pos:ref.start]), secret_action(ref, kv_path(ref, kv or {}, lookup))]
        pos = ref.end
    return "".join([*parts, literal(text[pos:])])
