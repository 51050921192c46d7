"""YAML out: one deterministic dumper, so every file manifestkit writes has the same style.

Block style, Kubernetes field order, literal blocks for multi-line strings, and quotes on
every string that go-yaml v2 (kubectl, Helm) would read as something else (YAML 1.1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml

from manifestkit.yaml_emit import Scalars, emit

_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

_TOP_ORDER = ("apiVersion", "kind", "metadata", "spec", "type", "immutable", "data", "stringData", "binaryData")
_META_ORDER = ("name", "generateName", "namespace", "labels", "annotations")


def _ordered(mapping: Mapping[str, Any], first: Sequence[str]) -> dict[str, Any]:
    out = {key: mapping[key] for key in first if key in mapping}
    out.update((key, value) for key, value in mapping.items() if key not in out)
    return out


def k8s_order(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Kubernetes' usual field order at the top and in metadata; the rest as built."""
    out = _ordered(obj, _TOP_ORDER)
    if isinstance(out.get("metadata"), Mapping):
        out["metadata"] = _ordered(out["metadata"], _META_ORDER)
    return out


def _str_representer(dumper: Any, value: str) -> Any:
    style = "|" if "\n" in value and not _needs_quotes_for_block(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", str.__str__(value), style=style)


def _needs_quotes_for_block(value: str) -> bool:
    # Literal blocks cannot carry trailing spaces on lines or most control characters faithfully.
    return any(line.endswith((" ", "\t")) for line in value.split("\n")) or any(
        ord(ch) < 32 and ch not in "\n\t" for ch in value)


# Plain words that no YAML 1.1 implicit resolver claims: they need no resolver lookup.
_PLAIN_WORD = re.compile(r"[A-Za-z_/][A-Za-z0-9_./-]*\Z")
_RESERVED_WORDS = frozenset({"yes", "no", "true", "false", "on", "off", "null", "y", "n"})
_STR_TAG = "tag:yaml.org,2002:str"


class _MkDumper(_Dumper):  # type: ignore[misc]
    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        # The emitter asks this twice per scalar (a hot path). Only a scalar that may be read
        # implicitly needs the regex lookup, and most of ours are plain words no resolver claims.
        if kind is yaml.ScalarNode:
            if implicit[0] and not (_PLAIN_WORD.match(value) and value.lower() not in _RESERVED_WORDS):
                return super().resolve(kind, value, implicit)
            return _STR_TAG
        return super().resolve(kind, value, implicit)


# go-yaml v2 (kubectl, Helm) reads y/Y/n/N as booleans (YAML 1.1); PyYAML does not, so
# it would write them bare. Claim them for bool here so they are always quoted.
_MkDumper.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:y|Y|n|N)$"), list("yYnN"))
# ...and what go-yaml v2 reads as a number that PyYAML's YAML 1.1 rules do not: `1e3`, `+.5`
# (its float pattern), `0o17`, `0b1_0` (it parses ints with Go's strconv base 0, underscores removed).
_MkDumper.add_implicit_resolver("tag:yaml.org,2002:float",
                                re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"),
                                list("-+.0123456789"))
_MkDumper.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?0[bBoOxX][0-9a-fA-F_]+$"), list("-+0"))
_MkDumper.add_representer(str, _str_representer)
# SecretStr and other str subclasses dump as plain strings.
_MkDumper.add_multi_representer(str, _str_representer)


def dump_pyyaml(obj: Any) -> str:
    """One YAML document written by PyYAML: the reference for every byte :func:`dump` writes."""
    return str(yaml.dump(obj, Dumper=_MkDumper, sort_keys=False, default_flow_style=False,
                         allow_unicode=True, width=1 << 16))


def _reads_as_str(value: str) -> bool:
    """Whether PyYAML (with the resolvers above) reads ``value`` written bare as a string."""
    resolvers = _MkDumper.yaml_implicit_resolvers
    for tag, pattern in [*resolvers.get(value[:1], []), *resolvers.get(None, [])]:
        if pattern.match(value):
            return bool(tag == _STR_TAG)
    return True


_SCALARS = Scalars(dump_pyyaml, _reads_as_str)


def dump(obj: Any) -> str:
    """One YAML document, block style, stable order: the specialised emitter when it knows the
    data (byte-identical, several times faster), PyYAML otherwise."""
    return emit(obj, _SCALARS) or dump_pyyaml(obj)


def dump_all(objs: Iterable[Any]) -> str:
    """A multi-document stream, documents separated by ``---``."""
    return "---\n".join(dump(o) for o in objs)
