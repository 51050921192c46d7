"""The fast YAML loader: a native parser for the files it can prove read as the careful loader reads them.

yaml-rs (Rust) reads YAML 1.2 and keeps no positions; manifestkit reads YAML 1.1 (as go-yaml
v2 and PyYAML do) and refuses what is ambiguous. So the fast path takes a file only when
nothing in it can tell the two apart: no anchors, aliases, tags, merge keys, directives or
extra documents, no tabs, escapes or unusual characters, no deep or compact nesting, no
number with a leading zero, no float, no non-string key, and no string that YAML 1.1 would
resolve to another type unless every bare spelling of it in the text is quoted. Duplicate
keys make yaml-rs fail. Whatever it cannot prove, or any error, goes to the careful loader,
which then decides (and words the diagnostic) exactly as before. The data it returns has its
keys and short strings interned, so a big project keeps one copy of each word it repeats.
"""

from __future__ import annotations

import re
import sys
from functools import lru_cache
from typing import Any

import yaml
import yaml_rs

from manifestkit.yaml_careful import MAX_DEPTH

# Anything here sends the whole file to the careful loader. Plain substrings first (cheap), then
# patterns, each searched on its own: one alternation of them cost the regex engine twice the time,
# trying every branch at every position, where each alone is scanned for its first character.
_UNPROVABLE_TEXT = ("\t", "\r", "\\", "<<", "\n---", "\n...", "\n%", "\n" + " " * 200)
_UNPROVABLE = (
    re.compile(r"[\x00-\x08\x0b-\x1f\x7f]"),                  # control characters
    # After a token boundary (BOUNDED, in tests/test_yaml_fast.py, says it plainly): an anchor, alias or tag; 0755,
    # 0o17, 0x1f, 0b1, 0_1 (read apart); 1_000 (YAML 1.1 only). Written to start at its rarer first character, which
    # the regex engine scans for, and to look back at the boundary: four times faster than starting at every space.
    re.compile(r"[-+&*!0-9](?<=[\s\[{,:][-+&*!0-9])"
               r"(?:(?<=[&*!])|(?<=[-+])(?:0[0-9oOxXbB_]|[0-9][0-9_]*_)|(?<=0)[0-9oOxXbB_]|(?<=[0-9])[0-9_]*_)"),
    re.compile(r"\n *[-?:] +[-?:][ \n]"),                        # compact nesting (`- - x`), unbounded depth
)
# Outside ASCII: YAML 1.1-only line breaks, a BOM, and what libyaml's reader refuses.
_UNPROVABLE_WIDE = re.compile(r"[\x85\u2028\u2029\ufeff]|[^\n\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_BOUNDARY_BEFORE = frozenset(" \n[{,:")
_BOUNDARY_AFTER = frozenset(" \n,]}#:")
_PLAIN_WORD = re.compile(r"[A-Za-z_/][A-Za-z0-9_./-]*\Z")
_RESERVED_WORDS = frozenset({"yes", "no", "true", "false", "on", "off", "null"})
_STR_TAG = "tag:yaml.org,2002:str"
_RESOLVERS: dict[Any, list[tuple[str, re.Pattern[str]]]] = yaml.SafeLoader.yaml_implicit_resolvers
_intern = sys.intern
_DUPLICATES_FAIL = yaml_rs.DuplicateKeyPolicy.Error
_INTERNED = 64   # strings up to this long are interned: names, images, ports; not scripts or file contents


class _Unprovable(Exception):
    """The fast reading may differ from the careful one."""


@lru_cache(maxsize=8192)
def _resolves_to_str(value: str) -> bool:
    """Whether a bare (plain) ``value`` reads as a string under PyYAML's YAML 1.1 rules."""
    if _PLAIN_WORD.match(value) and value.lower() not in _RESERVED_WORDS:
        return True
    for tag, pattern in _RESOLVERS.get(value[:1] or None, []):
        if pattern.match(value):
            return tag == _STR_TAG
    return True


def _written_bare(value: str, text: str) -> bool:
    """Whether ``value`` appears in ``text`` at a token boundary, so perhaps as a plain scalar."""
    at = text.find(value)
    while at >= 0:
        after = at + len(value)
        if (at == 0 or text[at - 1] in _BOUNDARY_BEFORE) and (after == len(text) or text[after] in _BOUNDARY_AFTER):
            return True
        at = text.find(value, at + 1)
    return False


def _checked(node: Any, depth: int, doubtful: list[str]) -> Any:
    """``node`` rebuilt with its keys and short strings interned (a project repeats the same few
    words: thousands of Apps hold one copy of each, not one each); raise _Unprovable for what
    yaml-rs may read apart; collect strings YAML 1.1 may read as another type."""
    if depth >= MAX_DEPTH or (depth + 1 >= MAX_DEPTH and node and type(node) in (dict, list)):
        raise _Unprovable   # the careful loader words what is too deep (a leaf counts one level down)
    kind = type(node)
    if kind is dict:
        out = {}
        for key, value in node.items():
            if type(key) is not str:
                raise _Unprovable
            if key and not _resolves_to_str(key):
                doubtful.append(key)
            out[_intern(key)] = _leaf(value, doubtful) if type(value) in _LEAVES else _checked(value, depth + 1,
                                                                                              doubtful)
        return out
    if kind is list:
        return [_leaf(item, doubtful) if type(item) in _LEAVES else _checked(item, depth + 1, doubtful)
                for item in node]
    if kind in _LEAVES:
        return _leaf(node, doubtful)
    raise _Unprovable   # floats (1e3, .5 read apart), dates and anything else


_LEAVES = frozenset({str, bool, int, type(None)})


def _leaf(node: Any, doubtful: list[str]) -> Any:
    """A scalar of :data:`_LEAVES` (the caller checked its type), a short string interned."""
    if type(node) is str:
        if node and not _resolves_to_str(node):
            doubtful.append(node)
        return _intern(node) if len(node) <= _INTERNED else node
    return node


def fast_data(text: str) -> tuple[bool, Any]:
    """``(True, data)`` when ``text`` is one document (None if empty) that reads the same as the
    careful loader would read it, else ``(False, None)``. The data is made only of dicts with str keys, lists, str,
    int, bool and None (anything else is declined), so JSON gives it back exactly."""
    if text and not text.endswith("\n"):   # a block scalar cut off at the end reads apart
        return False, None
    # A leading `---` starts the one document; then a line break before the text lets every pattern
    # that starts at a line start or after a space also catch the text's first character.
    checked = "\n" + (text[4:] if text.startswith("---\n") else text)
    if (any(part in checked for part in _UNPROVABLE_TEXT) or any(p.search(checked) for p in _UNPROVABLE)
            or (not text.isascii() and _UNPROVABLE_WIDE.search(text))):
        return False, None
    try:
        data = yaml_rs.loads(text, parse_datetime=False, duplicate_key_policy=_DUPLICATES_FAIL)
    except Exception:   # any refusal (syntax, duplicates, limits): the careful loader words it
        return False, None
    doubtful: list[str] = []
    try:
        data = _checked(data, 0, doubtful)
    except _Unprovable:
        return False, None
    # yaml-rs read these as strings and YAML 1.1 may not: safe only when never written bare.
    if any(any(ch.isspace() for ch in word) or _written_bare(word, text) for word in set(doubtful)):
        return False, None
    return True, data
