"""SOPS formats: files into (data tree, metadata map), values into ENC[...] strings, YAML out.

Each store mirrors what the sops tool does for its format (getsops/sops ``stores/``):
YAML and JSON keep the document's own structure with a top-level ``sops`` map; dotenv
keeps metadata as ``sops_``-prefixed flattened keys and INI in a ``[sops]`` section
(``__map_``/``__list_`` separators, newlines escaped as ``\\n``); binary files are JSON
with the whole file in one ``data`` value. Comments are dropped: sops leaves them out
of the MAC. A value is ``ENC[AES256_GCM,data:..,iv:..,tag:..,type:..]`` (aes/cipher.go);
the metadata's suffix/regex rules say which values are sealed (sops.go shouldBeEncrypted).
"""

from __future__ import annotations

import base64
import binascii
import io
import itertools
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError, SafeConstructor
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode
from ruamel.yaml.representer import SafeRepresenter

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
    except RecursionError:
        raise _fail("invalid YAML: nested too deeply", file) from None
    except YAMLError as exc:
        raise _yaml_error(exc, file) from None


def _yaml_error(exc: YAMLError, file: str) -> ManifestkitError:
    # ruamel's duplicate-key problem quotes both values; a value may be a secret, so say it in our words.
    problem = "duplicate mapping key" if isinstance(exc, DuplicateKeyError) else getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
    return ManifestkitError([Diagnostic(f"invalid YAML: {problem or exc.__class__.__name__}", file=file,
                                        line=line, column=column)])


def load_yaml(data: bytes, file: str) -> Loaded:
    return _split_metadata(_load_yaml_data(_text(data, file), file), file)


# ---------------------------------------------------------------- JSON and binary


def _load_json_data(data: bytes, file: str) -> Any:
    try:
        return json.loads(_text(data, file))
    except json.JSONDecodeError as exc:  # its msg never quotes the document
        raise ManifestkitError([Diagnostic(f"invalid JSON: {exc.msg}", file=file, line=exc.lineno, column=exc.colno)]) from None
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


# ---------------------------------------------------------------- values

ENC_VALUE = re.compile(r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]")
_RULE_KEYS = ("unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex")
_COMMENT_RULE_KEYS = ("unencrypted_comment_regex", "encrypted_comment_regex")


class BadValue(Exception):
    """A value that does not open; ``tampered`` when the GCM tag failed."""

    def __init__(self, reason: str, tampered: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.tampered = tampered


def text_of(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _parse_bool(raw: bytes) -> bool:
    text = raw.decode()
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError("not a boolean")


_DECODERS: dict[str, Callable[[bytes], Any]] = {
    "str": text_of, "bytes": text_of, "comment": text_of,
    "int": lambda raw: int(raw.decode()), "int64": lambda raw: int(raw.decode()),
    "float": lambda raw: float(raw.decode()), "bool": _parse_bool,
}


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def open_value(value: Any, key: bytes, additional: str) -> Any:
    """The plaintext of one ``ENC[...]`` value, typed as its ``type:`` says, or :class:`BadValue`."""
    if value == "":
        return ""  # sops leaves empty strings as they are
    if not isinstance(value, str):
        raise BadValue(f"expected an encrypted value, found {type(value).__name__}")
    match = ENC_VALUE.match(value)
    if match is None:
        raise BadValue("malformed encrypted value: expected ENC[AES256_GCM,data:...,iv:...,tag:...,type:...]")
    try:
        data, iv, tag = (_b64(part) for part in match.groups()[:3])
        raw = AESGCM(key).decrypt(iv, data + tag, additional.encode())
    except binascii.Error:
        raise BadValue("malformed encrypted value: data, iv or tag is not base64") from None
    except InvalidTag:
        raise BadValue("cannot decrypt the value: authentication failed", tampered=True) from None
    except ValueError:
        raise BadValue("malformed encrypted value: bad iv length") from None
    decode = _DECODERS.get(match.group(4))
    if decode is None:
        raise BadValue(f"malformed encrypted value: unknown type {match.group(4)!r}; expected one of: {one_of(_DECODERS)}")
    try:
        return decode(raw)
    except ValueError:
        raise BadValue(f"malformed encrypted value: not a valid {match.group(4)}") from None


def go_float(value: float) -> str:
    """Go's strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, never an exponent."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return format(Decimal(repr(value)).normalize(), "f")


def to_bytes(value: Any) -> bytes:
    """A plaintext value as sops feeds it to the MAC (ToBytes)."""
    if isinstance(value, bool):
        return b"True" if value else b"False"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, float):
        return go_float(value).encode()
    if isinstance(value, bytes):
        return value
    return str.__str__(value).encode("utf-8", "surrogateescape")


def seal_value(value: str | int | float | bool, key: bytes, additional: str) -> str:
    """``value`` as sops writes it: a fresh 32-byte IV, the type, bools as True/False (aes/cipher.go)."""
    if value == "" and isinstance(value, str):
        return ""
    kind, text = ("bool", "True" if value else "False") if isinstance(value, bool) else (
        ("int", str(value)) if isinstance(value, int) else
        ("float", go_float(value)) if isinstance(value, float) else ("str", str.__str__(value)))
    iv = os.urandom(32)
    sealed = AESGCM(key).encrypt(iv, text.encode("utf-8", "surrogateescape"), additional.encode())
    parts = (base64.b64encode(p).decode() for p in (sealed[:-16], iv, sealed[-16:]))
    return "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{}]".format(*parts, kind)


def additional_data(path: Sequence[str]) -> str:
    return ":".join(path) + ":"


# ---------------------------------------------------------------- which values are encrypted

Rule = Callable[[Sequence[str], Any], bool]


def _unencrypted_suffix(arg: str) -> Rule:
    return lambda path, _value: not any(p.endswith(arg) for p in path)


def _encrypted_suffix(arg: str) -> Rule:
    return lambda path, _value: any(p.endswith(arg) for p in path)


def _unencrypted_regex(arg: str) -> Rule:
    pattern = re.compile(arg)
    return lambda path, _value: not any(pattern.search(p) for p in path)


def _encrypted_regex(arg: str) -> Rule:
    pattern = re.compile(arg)
    return lambda path, _value: any(pattern.search(p) for p in path)


def _by_shape(_arg: str) -> Rule:
    # Comment regexes depend on YAML comments, which are not kept; the value's shape decides instead.
    return lambda _path, value: isinstance(value, str) and ENC_VALUE.match(value) is not None


RULES: dict[str, Callable[[str], Rule]] = {
    "unencrypted_suffix": _unencrypted_suffix, "encrypted_suffix": _encrypted_suffix,
    "unencrypted_regex": _unencrypted_regex, "encrypted_regex": _encrypted_regex, "comment_regex": _by_shape,
}


def rule_of(raw: Mapping[str, Any], file: str) -> Rule:
    """Which key paths hold sealed values, from the metadata (default: not under ``*_unencrypted``)."""
    chosen = [k for k in _RULE_KEYS if raw.get(k)]
    if any(raw.get(k) for k in _COMMENT_RULE_KEYS):
        chosen = ["comment_regex"]
    if len(chosen) > 1:
        raise _fail(f"the sops metadata sets {', '.join(chosen)}; sops allows only one of them", file)
    name = chosen[0] if chosen else "unencrypted_suffix"
    try:
        return RULES[name](str(raw.get(name) or "_unencrypted"))
    except re.error as exc:
        raise _fail(f"invalid {name} in the sops metadata: {exc}", file) from None


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
    lines = value.split("\n")
    # Literal blocks only where they are exact: printable text without edge whitespace.
    block = len(lines) > 1 and not value.startswith(" ") and all(
        line.isprintable() and not line.endswith((" ", "\t")) for line in lines)
    # Anything else unprintable (NEL, LS/PS, controls) is escaped in double quotes, which reads back exactly.
    style = "|" if block else None if value.replace("\n", "").isprintable() else '"'
    return representer.represent_scalar("tag:yaml.org,2002:str", str.__str__(value), style=style)


class _Representer(SafeRepresenter):
    """Our own class, so registering a representer never changes ruamel's shared SafeRepresenter."""


_Representer.add_representer(str, _str_representer)


def to_yaml(tree: Mapping[str, Any]) -> str:
    """A sops document as YAML 1.2 text (what :func:`decrypt_bytes` reads back)."""
    yaml = YAML(typ="safe", pure=True)
    yaml.Representer = _Representer
    yaml.default_flow_style = False
    yaml.width = 1 << 16
    yaml.representer.sort_base_mapping_type_on_output = False  # sops' MAC follows document order
    out = io.StringIO()
    yaml.dump(dict(tree), out)
    return out.getvalue()
