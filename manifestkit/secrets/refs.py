"""Secret references: find, parse and write vals refs and Argo CD Vault Plugin placeholders.

vals syntax (https://github.com/helmfile/vals): ``ref+SCHEME://PATH[?k=v&...][#/KEY/PATH]``,
as a whole value or embedded in a longer string. Like vals, a ref runs until a ``+``
(which closes it and is part of the match), whitespace, or the end of the string, so
``postgres://u:ref+vault://db#/pw+@host`` holds the ref ``ref+vault://db#/pw+``.
Path, query and key segments are percent-decoded, so ``%2B``, ``%20``, ``%23`` spell a
literal ``+``, space, ``#``.

Argo CD Vault Plugin placeholders ``<path:PATH#KEY>`` and ``<path:PATH#KEY#VERSION>``
(https://argocd-vault-plugin.readthedocs.io/en/stable/howitworks/) are vault refs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import quote, unquote

from manifestkit.redact import SecretStr

SCHEMES = ("env", "file", "sops", "vault")

# Where a ref may start; each candidate is then matched by the grammar of its syntax.
_START = re.compile(r"ref\+|<path:")
# vals: the scheme may not hold "+", ":", "/" or whitespace; the body stops at "+" or
# whitespace; one "+" right after the body closes the ref.
_VALS = re.compile(r"ref\+(?P<scheme>[^\s+:/]*)://(?P<body>[^\s+]*)(?P<close>\+?)")
_AVP = re.compile(r"<path:(?P<path>[^\s<>#]+)#(?P<key>[^\s<>#]+)(?:#(?P<version>[^\s<>#]+))?>")

_PATH_SAFE = "/:@!$&'()*,;=~"
_SEGMENT_SAFE = ":@!$&'()*,;=~"
_QUERY_SAFE = ":@/!$'()*,;~"


class Ref(NamedTuple):
    """One secret reference found in a string."""

    scheme: str
    path: str
    key: tuple[str, ...]
    query: tuple[tuple[str, str], ...]
    raw: str
    start: int
    end: int
    syntax: str

    def option(self, name: str, default: str | None = None) -> str | None:
        """The first query option ``name``, or ``default``."""
        return next((v for k, v in self.query if k == name), default)

    @property
    def version(self) -> str | None:
        return self.option("version")


def find_refs(text: str) -> list[Ref]:
    """Every ref in ``text``, in order. ValueError for a ref that is malformed."""
    refs: list[Ref] = []
    pos = 0
    while (start := _START.search(text, pos)) is not None:
        ref: Ref | None
        if text.startswith("<", start.start()):
            ref = _match_avp(text, start.start())
        else:
            ref = _match_vals(text, start.start())
        if ref is None:  # "ref+" not followed by "scheme://": plain text, as in vals
            pos = start.end()
            continue
        refs.append(ref)
        pos = ref.end
    return refs


def has_refs(text: str) -> bool:
    """Whether ``text`` looks like it holds a ref (``find_refs`` may still reject it)."""
    return any(_VALS.match(text, m.start()) or text.startswith("<", m.start())
               for m in _START.finditer(text))


def parse_ref(text: str) -> Ref:
    """The single ref that is the whole of ``text``."""
    refs = find_refs(text)
    if len(refs) != 1 or (refs[0].start, refs[0].end) != (0, len(text)):
        found = f"{len(refs)} refs" if len(refs) != 1 else f"{refs[0].raw!r} followed or preceded by text"
        raise ValueError(
            f"{text!r}: found {found}; expected exactly one reference such as "
            f"'ref+vault://secret/data/web#/password' or '<path:secret/data/web#password>'"
        )
    return refs[0]


def substitute(text: str, resolve: Callable[[Ref], str]) -> str:
    """``text`` with each ref replaced by ``resolve(ref)``; a SecretStr if any was."""
    refs = find_refs(text)
    if not refs:
        return text
    parts: list[str] = []
    pos = 0
    for ref in refs:
        parts += [text[pos:ref.start], resolve(ref)]
        pos = ref.end
    parts.append(text[pos:])
    return SecretStr("".join(parts))


def unparse(ref: Ref) -> str:
    """The canonical vals spelling of ``ref`` (no closing ``+``)."""
    text = f"ref+{ref.scheme}://{quote(ref.path, safe=_PATH_SAFE)}"
    if ref.query:
        text += "?" + "&".join(
            f"{quote(k, safe=_QUERY_SAFE)}={quote(v, safe=_QUERY_SAFE)}" for k, v in ref.query
        )
    if ref.key:
        text += "#/" + "/".join(quote(segment, safe=_SEGMENT_SAFE) for segment in ref.key)
    return text


def to_avp(ref: Ref) -> str:
    """The Argo CD Vault Plugin placeholder for a vault ref with one key."""
    others = sorted(k for k, _ in ref.query if k != "version")
    if ref.scheme != "vault" or len(ref.key) != 1 or others:
        raise ValueError(
            f"{ref.raw or unparse(ref)!r} cannot be written as an Argo CD Vault Plugin placeholder; "
            f"expected a vault ref with exactly one key and no query option but 'version'"
        )
    parts = [ref.path, ref.key[0]] + ([ref.version] if ref.version else [])
    if any(re.search(r"[\s<>#]", part) for part in parts):
        raise ValueError(
            f"{ref.raw or unparse(ref)!r}: an Argo CD Vault Plugin placeholder cannot hold "
            f"whitespace, '<', '>' or '#' in its path, key or version"
        )
    return f"<path:{'#'.join(parts)}>"


def _match_vals(text: str, start: int) -> Ref | None:
    m = _VALS.match(text, start)
    if m is None:
        return None
    raw = m.group(0)
    scheme = m.group("scheme")
    if scheme not in SCHEMES:
        raise ValueError(
            f"{raw!r}: unknown reference scheme {scheme!r}; expected one of: {', '.join(SCHEMES)}"
        )
    body, _, fragment = m.group("body").partition("#")
    path, _, query = body.partition("?")
    if not path:
        raise ValueError(f"{raw!r}: found no path after 'ref+{scheme}://'; expected e.g. 'ref+{scheme}://{_EXAMPLE[scheme]}'")
    return Ref(scheme, unquote(path), _key(raw, fragment), _query(raw, query), raw, start, m.end(), "vals")


_EXAMPLE = {
    "env": "DB_PASSWORD",
    "file": "secrets/db.yaml#/password",
    "sops": "secrets/web.enc.yaml#/api/key",
    "vault": "secret/data/web#/password",
}


def _key(raw: str, fragment: str) -> tuple[str, ...]:
    fragment = fragment.removeprefix("/")
    if not fragment:
        return ()
    segments = tuple(unquote(s) for s in fragment.split("/"))
    if "" in segments:
        raise ValueError(f"{raw!r}: found an empty key segment; expected '#/key' or '#/key/nested'")
    return segments


def _query(raw: str, query: str) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for item in filter(None, query.split("&")):
        name, _, value = item.partition("=")
        if not name:
            raise ValueError(f"{raw!r}: found query option {item!r}; expected 'name=value'")
        pairs.append((unquote(name), unquote(value)))
    return tuple(sorted(pairs))


def _match_avp(text: str, start: int) -> Ref:
    m = _AVP.match(text, start)
    if m is None:
        end = text.find(">", start)
        found = text[start:end + 1] if end >= 0 else text[start:start + 40]
        raise ValueError(
            f"{found!r}: malformed Argo CD Vault Plugin placeholder; "
            f"expected '<path:PATH#KEY>' or '<path:PATH#KEY#VERSION>'"
        )
    version = m.group("version")
    query = (("version", version),) if version else ()
    return Ref("vault", m.group("path"), (m.group("key"),), query, m.group(0), start, m.end(), "avp")
