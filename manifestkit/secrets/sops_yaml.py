"""sops YAML files: read as YAML 1.2 the way sops (Go's yaml.v3) reads them, and written back.

This loader deliberately does not go through :mod:`manifestkit.yamlio`: that one is YAML 1.1
(PyYAML), where ``on``/``yes`` become booleans and timestamps dates, which would change the
values sops' MAC covers. It has the same guards: duplicate keys are errors (worded so no
value is quoted), aliases may expand to at most :data:`MAX_EXPANDED_NODES` nodes.
Comments are dropped: sops leaves them out of the MAC.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError, SafeConstructor
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode
from ruamel.yaml.representer import SafeRepresenter

from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.secrets.sops_tree import Loaded, fail, split_metadata, utf8_text

# A document may expand to at most this many nodes once aliases are followed.
MAX_EXPANDED_NODES = 100_000

class _Constructor(SafeConstructor):
    """YAML 1.2 safe constructor; timestamps stay strings, as Go's yaml.v3 gives them."""


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", SafeConstructor.construct_yaml_str)


def _construct_int(constructor: SafeConstructor, node: Any) -> int | float:
    """An int beyond int64 and uint64 is a float64 in yaml.v3, so sops prints and MACs it as one."""
    value: int = constructor.construct_yaml_int(node)
    return value if -(1 << 63) <= value < (1 << 64) else float(value)


_Constructor.add_constructor("tag:yaml.org,2002:int", _construct_int)


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


def load_yaml_data(text: str, file: str) -> Any:
    """One YAML 1.2 document as plain data, read as sops reads it."""
    yaml = YAML(typ="safe", pure=True)
    yaml.Constructor = _Constructor
    try:
        nodes = [n for n in yaml.compose_all(text) if n is not None]
        if len(nodes) != 1:
            raise fail(f"expected one YAML document, found {len(nodes)}", file,
                        "multi-document sops files are not supported; split the file")
        if _expanded_size(nodes[0], {}) > MAX_EXPANDED_NODES:
            raise fail(f"YAML aliases expand to more than {MAX_EXPANDED_NODES:,} nodes", file,
                        "this looks like an alias bomb; a file written by sops has no aliases")
        return yaml.constructor.construct_document(nodes[0])
    except RecursionError:
        raise fail("invalid YAML: nested too deeply", file) from None
    except YAMLError as exc:
        raise _yaml_error(exc, file) from None


def _yaml_error(exc: YAMLError, file: str) -> ManifestkitError:
    # ruamel's duplicate-key problem quotes both values; a value may be a secret, so say it in our words.
    problem = "duplicate mapping key" if isinstance(exc, DuplicateKeyError) else getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
    return ManifestkitError([Diagnostic(message=f"invalid YAML: {problem or exc.__class__.__name__}", file=file,
                                        line=line, column=column)])


def load_yaml(data: bytes, file: str) -> Loaded:
    return split_metadata(load_yaml_data(utf8_text(data, file), file), file)


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
