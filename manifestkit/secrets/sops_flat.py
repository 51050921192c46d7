"""sops dotenv and INI files: flat ``KEY=VALUE`` stores whose metadata is flattened too.

dotenv keeps metadata as ``sops_``-prefixed keys and INI in a ``[sops]`` section, with
``__map_``/``__list_`` separators and newlines escaped as ``\\n`` (getsops/sops ``stores/``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from typing import Any

from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.secrets.sops_tree import Loaded, fail, utf8_text

_MAP_SEP = "__map_"
_LIST_SEP = "__list_"
_TOKEN = re.compile(f"({_MAP_SEP}|{_LIST_SEP})")


def load_dotenv(data: bytes, file: str) -> Loaded:
    values: dict[str, Any] = {}
    flat: dict[str, Any] = {}
    for number, line in enumerate(utf8_text(data, file).split("\n"), start=1):
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ManifestkitError(
                [Diagnostic(message="invalid dotenv line: expected KEY=VALUE", file=file, line=number)]
            )
        value = value.replace("\\n", "\n")
        if key.startswith("sops_"):
            flat[key[len("sops_"):]] = value
        else:
            values[key] = value
    if not flat:
        raise fail("sops metadata not found: the file has no sops_* keys", file, "is this file encrypted with sops?")
    return Loaded(values, unflatten_metadata(flat))


def _unquote(value: str) -> str:
    for quote in ('"""', '"', "'", "`"):
        if len(value) >= 2 * len(quote) and value.startswith(quote) and value.endswith(quote):
            return value[len(quote):-len(quote)]
    return value


def _multiline(first: str, lines: list[str], at: int, file: str) -> tuple[str, int]:
    """A go-ini triple-quoted value that goes on over the next lines (sops 3.13 writes its PGP
    stanzas so): the value and the index of its closing line."""
    parts = [first[3:]]
    for index in range(at + 1, len(lines)):
        end = lines[index].rfind('"""')
        if end >= 0:
            return "\n".join([*parts, lines[index][:end]]), index
        parts.append(lines[index])
    raise ManifestkitError([Diagnostic(message='invalid INI value: a """ value is not closed', file=file,
                                       line=at + 1)])


def _ini_sections(text: str, file: str) -> dict[str, dict[str, Any]]:
    sections: dict[str, dict[str, Any]] = {"DEFAULT": {}}
    current = sections["DEFAULT"]
    lines = text.replace("\r\n", "\n").split("\n")
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        number, index = index, index + 1
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1].strip(), {})
            continue
        match = re.match(r"([^=:]+?)\s*[=:]\s*(.*)$", line)
        if match is None:
            raise ManifestkitError([Diagnostic(message="invalid INI line: expected key = value", file=file,
                                               line=number + 1)])
        value = match.group(2)
        if value.startswith('"""') and value[3:].rfind('"""') < 0:
            current[match.group(1)], last = _multiline(value, lines, number, file)
            index = last + 1
        else:
            current[match.group(1)] = _unquote(value)
    return sections


def load_ini(data: bytes, file: str) -> Loaded:
    sections = _ini_sections(utf8_text(data, file), file)
    flat = sections.pop("sops", None)
    if flat is None:
        raise fail("sops metadata not found: the file has no [sops] section", file, "is this file encrypted with sops?")
    if not sections["DEFAULT"]:
        del sections["DEFAULT"]
    return Loaded(dict(sections), unflatten_metadata({k: v.replace("\\n", "\n") for k, v in flat.items()}))


def _tokens(flat_key: str) -> list[str | int]:
    parts = _TOKEN.split(flat_key)
    out: list[str | int] = [parts[0]]
    for sep, name in zip(parts[1::2], parts[2::2], strict=False):
        out.append(int(name) if sep == _LIST_SEP and name.isdigit() else name)
    return out


def _set_path(root: dict[str, Any], path: list[str | int], value: Any) -> None:
    node: Any = root
    for here, after in itertools.pairwise(path):
        empty: Any = [] if isinstance(after, int) else {}
        if isinstance(node, list):
            assert isinstance(here, int)
            node.extend([None] * (here + 1 - len(node)))
            node[here] = node[here] if node[here] is not None else empty
            node = node[here]
        else:
            node = node.setdefault(str(here), empty)
    last = path[-1]
    if isinstance(node, list) and isinstance(last, int):
        node.extend([None] * (last + 1 - len(node)))
        node[last] = value
    elif isinstance(node, dict):
        node[str(last)] = value


def unflatten_metadata(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``age__list_0__map_enc=...`` → ``{"age": [{"enc": ...}]}``, typed as sops types them."""
    out: dict[str, Any] = {}
    for key in flat:
        _set_path(out, _tokens(key), flat[key])
    if "mac_only_encrypted" in out:
        out["mac_only_encrypted"] = out["mac_only_encrypted"] == "true"
    return out

