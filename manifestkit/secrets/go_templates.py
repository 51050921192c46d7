"""Go template text: plain text as a literal (ESO and consul-template), and vault refs as the Vault agent's consul-template actions."""

from __future__ import annotations

import json

from manifestkit.secrets.refs import Ref, find_refs


def secret_action(ref: Ref) -> str:
    """The consul-template expression for one vault ref.

    Nothing is read at render time, so the KV version comes from the spelling: a path whose
    second segment is ``data`` is KV v2 (``.Data.data``), any other KV v1 (``.Data``).
    """
    v2 = ref.path.strip("/").partition("/")[2].startswith("data/")
    path = ref.path.strip("/") + (f"?version={ref.version}" if ref.version else "")
    if not ref.key:
        raise ValueError(f"{ref.raw!r}: a reference for the Vault agent needs a key, e.g. '#/password'")
    keys = " ".join(json.dumps(segment) for segment in ref.key)
    data = ".Data.data" if v2 else ".Data"
    return f"{{{{ with secret {json.dumps(path)} }}}}{{{{ index {data} {keys} }}}}{{{{ end }}}}"


def literal(text: str) -> str:
    """Text safe inside a Go template (ESO and consul-template): ``{{`` written as an action."""
    return text.replace("{{", "{{ `{{` }}")


def template_of(text: str) -> str:
    """``text`` with every vault ref replaced by its consul-template action."""
    parts: list[str] = []
    pos = 0
    for ref in find_refs(text):
        if ref.scheme != "vault":
            raise ValueError(f"{ref.raw!r}: the Vault agent reads only Vault; found a {ref.scheme} reference")
        parts += [literal(text[pos:ref.start]), secret_action(ref)]
        pos = ref.end
    return "".join([*parts, literal(text[pos:])])
