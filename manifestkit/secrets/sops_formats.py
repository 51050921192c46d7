"""SOPS file formats: read an encrypted file into (data tree, metadata map), write YAML.

Each store mirrors what the sops tool does for its format (getsops/sops ``stores/``):
YAML and JSON keep the document's own structure with a top-level ``sops`` map; dotenv
keeps metadata as ``sops_``-prefixed flattened keys and INI in a ``[sops]`` section
(``__map_``/``__list_`` separators, newlines escaped as ``\\n``); binary files are JSON
with the whole file in one ``data`` value. Comments are dropped: sops leaves them out
of the MAC.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from manifestkit.diagnostics import Diagnostic, ManifestkitError, one_of

# A document may expand to at most this many nodes once aliases are followed.
MAX_EXPANDED_NODES = 100_000

_MAP_SEP = "__map_"
_LIST_SEP = "__list_"
_TOKEN = re.compile(f"({_MAP_SEP}|{_LIST_SEP})")


class Loaded(NamedTuple):
    """An encrypted file split into its data and its raw ``sops`` metadata."""

    data: dict[str, Any]
    metadata: dict[str, Any]


def _fail(message: str, file: str, hint: str = "") -> ManifestkitError:
    return ManifestkitError([Diagnostic(message, file=file, hint=hint)])


# ---------------------------------------------------------------- YAML


class _Constructor(SafeConstructor):
    """YAML 1.2 safe constructor; timestamps stay strings, as Go's yaml.v3 gives them."""


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", SafeConstructor.construct_yaml_str)


def _expanded_size(node: Node, seen: dict[int, int]) -> int:
    known = seen.get(id(node))
    if known is not None:
        return known
    seen[id(node)] = 1  # guards recursive aliases
    size = 1
    if isinstance(node, MappingNode):
        size += sum(_expanded_size(k, seen) + _expanded_size(v, seen) for k, v in node.value)
    elif isinstance(node, SequenceNode):
        size += sum(_expanded_size(item, seen) for item in node.value)
    seen[id(node)] = size
    return size


def _load_yaml_data(text: str, file: str) -> Any:
    yaml = YAML(typ="safe", pure=True)
    yaml.Constructor = _Constructor
    try:
        nodes = [n for n in yaml.compose_all(text) if n is not None]
        if len(nodes) != 1:
            raise _fail(f"expected one YAML document, found {len(nodes)}", file,
                        "multi-document sops files are not supported; split the file")
        if _expanded_size(nodes[0], {}) > MAX_EXPANDED_NODES:
            raise _fail(f"YAML aliases expand to more than {MAX_EXPANDED_NODES:,} nodes", file,
                        "this looks like an alias bomb; a file written by sops has no aliases")
        return yaml.constructor.construct_document(nodes[0])
    except YAMLError as exc:
        raise _fail(f"invalid YAML: {getattr(exc, 'problem', None) or exc.__class__.__name__}", file) from None


def load_yaml(data: bytes, file: str) -> Loaded:
    return _split_metadata(_load_yaml_data(_text(data, file), file), file)


# ---------------------------------------------------------------- JSON and binary


def _load_json_data(data: bytes, file: str) -> Any:
    try:
        return json.loads(_text(data, file))
    except (ValueError, RecursionError) as exc:
        raise _fail(f"invalid JSON: {exc.__class__.__name__}", file) from None


def load_json(data: bytes, file: str) -> Loaded:
    return _split_metadata(_load_json_data(data, file), file)


def load_binary(data: bytes, file: str) -> Loaded:
    loaded = load_json(data, file)
    if set(loaded.data) != {"data"}:
        raise _fail(f"a sops binary file holds one 'data' key; found: {one_of(loaded.data)}", file)
    return loaded


def _split_metadata(doc: Any, file: str) -> Loaded:
    if not isinstance(doc, dict):
        raise _fail(f"expected a mapping at the top of the file, found {type(doc).__name__}", file)
    metadata = doc.get("sops")
    if not isinstance(metadata, dict):
        raise _fail("sops metadata not found: the file has no top-level 'sops' map", file,
                    "is this file encrypted with sops?")
    return Loaded({k: v for k, v in doc.items() if k != "sops"}, metadata)


def _text(data: bytes, file: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail("the file is not UTF-8 text", file) from None


# ---------------------------------------------------------------- dotenv and INI


def load_dotenv(data: bytes, file: str) -> Loaded:
    values: dict[str, Any] = {}
    flat: dict[str, Any] = {}
    for number, line in enumerate(_text(data, file).split("\n"), start=1):
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ManifestkitError([Diagnostic("invalid dotenv line: expected KEY=VALUE", file=file, line=number)])
        value = value.replace("\\n", "\n")
        if key.startswith("sops_"):
            flat[key[len("sops_"):]] = value
        else:
            values[key] = value
    if not flat:
        raise _fail("sops metadata not found: the file has no sops_* keys", file, "is this file encrypted with sops?")
    return Loaded(values, unflatten_metadata(flat))


def _unquote(value: str) -> str:
    for quote in ('"""', '"', "'", "`"):
        if len(value) >= 2 * len(quote) and value.startswith(quote) and value.endswith(quote):
            return value[len(quote):-len(quote)]
    return value


def _ini_sections(text: str, file: str) -> dict[str, dict[str, Any]]:
    sections: dict[str, dict[str, Any]] = {"DEFAULT": {}}
    current = sections["DEFAULT"]
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1].strip(), {})
            continue
        match = re.match(r"([^=:]+?)\s*[=:]\s*(.*)$", line)
        if match is None:
            raise ManifestkitError([Diagnostic("invalid INI line: expected key = value", file=file, line=number)])
        current[match.group(1)] = _unquote(match.group(2))
    return sections


def load_ini(data: bytes, file: str) -> Loaded:
    sections = _ini_sections(_text(data, file), file)
    flat = sections.pop("sops", None)
    if flat is None:
        raise _fail("sops metadata not found: the file has no [sops] section", file, "is this file encrypted with sops?")
    if not sections["DEFAULT"]:
        del sections["DEFAULT"]
    return Loaded(dict(sections), unflatten_metadata({k: v.replace("\\n", "\n") for k, v in flat.items()}))


def _tokens(flat_key: str) -> list[str | int]:
    parts = _TOKEN.split(flat_key)
    out: list[str | int] = [parts[0]]
    for sep, name in zip(parts[1::2], parts[2::2]):
        out.append(int(name) if sep == _LIST_SEP and name.isdigit() else name)
    return out


def _set_path(root: dict[str, Any], path: list[str | int], value: Any) -> None:
    node: Any = root
    for here, after in zip(path, path[1:]):
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


# ---------------------------------------------------------------- registry and writing

LOADERS: dict[str, Callable[[bytes, str], Loaded]] = {
    "yaml": load_yaml,
    "json": load_json,
    "dotenv": load_dotenv,
    "ini": load_ini,
    "binary": load_binary,
}

EXTENSIONS: dict[str, str] = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".env": "dotenv", ".ini": "ini"}


def _str_representer(representer: Any, value: str) -> Any:
    style = "|" if "\n" in value else None
    return representer.represent_scalar("tag:yaml.org,2002:str", str.__str__(value), style=style)


def to_yaml(tree: Mapping[str, Any]) -> str:
    """A sops document as YAML 1.2 text (what :func:`decrypt_bytes` reads back)."""
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 1 << 16
    yaml.representer.add_representer(str, _str_representer)
    out = io.StringIO()
    yaml.dump(dict(tree), out)
    return out.getvalue()
