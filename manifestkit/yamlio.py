"""YAML in and out: safe loading with positions, and one deterministic dumper.

Loading composes nodes with libyaml (C) and builds plain dicts/lists itself, so it can
refuse what YAML libraries accept silently (duplicate keys, alias bombs) and keep the
line and column of every value in a side table, never inside the data.
Dumping always goes through :func:`dump`, so every file manifestkit writes has the same
style: block style, Kubernetes field order, literal blocks for multi-line strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import yaml

from manifestkit.diagnostics import Diagnostic, ManifestkitError

PathKey = tuple[str | int, ...]
Position = tuple[int, int]

# A YAML document may expand to at most this many nodes once aliases are followed.
MAX_EXPANDED_NODES = 1_000_000

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class Document(NamedTuple):
    """One YAML document: plain data plus where each value was written."""

    data: Any
    file: str
    positions: Mapping[PathKey, Position]
    number: int = 0   # the document's place in its stream

    def position(self, path: Sequence[str | int]) -> Position:
        """Line and column (1-based) of ``path``, or of its nearest written ancestor."""
        key = tuple(path)
        while key:
            if key in self.positions:
                return self.positions[key]
            key = key[:-1]
        return self.positions.get((), (1, 1))

    def diagnostic(self, path: Sequence[str | int], message: str, hint: str = "", **more: Any) -> Diagnostic:
        line, column = self.position(path)
        return Diagnostic(message, file=self.file, line=line, column=column,
                          path=format_path(path), hint=hint, **more)


def format_path(path: Iterable[str | int]) -> str:
    """``('spec', 'containers', 0, 'image')`` → ``spec.containers[0].image``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


class _Builder:
    """Turns composed nodes into plain data, recording positions and checking limits."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.positions: dict[PathKey, Position] = {}
        self.errors: list[Diagnostic] = []
        self._sizes: dict[int, int] = {}
        self._constructor = yaml.SafeLoader("")  # only used for scalar resolution

    def expanded_size(self, node: yaml.Node) -> int:
        known = self._sizes.get(id(node))
        if known is not None:
            return known
        self._sizes[id(node)] = 1  # guards recursive aliases
        size = 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                size += self.expanded_size(key) + self.expanded_size(value)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                size += self.expanded_size(item)
        self._sizes[id(node)] = size
        return size

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[Any, Any]:
        self._constructor.flatten_mapping(node)  # resolves `<<` merge keys
        out: dict[Any, Any] = {}
        seen: dict[Any, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = self._scalar(key_node, path) if isinstance(key_node, yaml.ScalarNode) else None
            if key is None or isinstance(key, (list, dict)):
                self._error(key_node, path, "mapping key must be a scalar", "")
                continue
            if not isinstance(key, str):
                key = str(key).lower() if isinstance(key, bool) else str(key)
            if key in seen:
                first = seen[key].start_mark.line + 1
                self._error(key_node, (*path, key), f"duplicate key {key!r} (first defined on line {first})",
                            "remove one of the two; YAML keeps only the last and the other is silently lost")
                continue
            seen[key] = key_node
            out[key] = self.build(value_node, (*path, key))
            # Point at the key: that is the line a user looks for.
            self.positions[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return out

    def _scalar(self, node: yaml.Node, path: PathKey) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            return self.build(node, path)
        try:
            return self._constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            self._error(node, path, f"cannot read value: {exc.problem}", "")
            return None

    def _error(self, node: yaml.Node, path: PathKey, message: str, hint: str) -> None:
        self.errors.append(Diagnostic(message, file=self.file, line=node.start_mark.line + 1,
                                      column=node.start_mark.column + 1, path=format_path(path), hint=hint))


def _syntax_error(exc: yaml.YAMLError, file: str, text: str) -> Diagnostic:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    hint = "check the indentation and quoting on this line"
    lines = text.split("\n")
    source_line = lines[line - 1] if 0 < line <= len(lines) else ""
    if "\t" in source_line[: len(source_line) - len(source_line.lstrip())] or "'\\t'" in str(exc):
        message = "invalid YAML: a tab character is used for indentation"
        hint = "YAML indents with spaces only; replace the tab with spaces"
    return Diagnostic(message, file=file, line=line, column=column, hint=hint)


def load_documents(text: str, file: str) -> list[Document]:
    """All documents of a YAML stream (empty documents skipped), or ManifestkitError."""
    builder = _Builder(file)
    documents: list[Document] = []
    try:
        for index, node in enumerate(yaml.compose_all(text, Loader=_Loader)):
            if node is None:
                continue
            size = builder.expanded_size(node)
            if size > MAX_EXPANDED_NODES:
                raise ManifestkitError([Diagnostic(
                    f"YAML aliases expand to more than {MAX_EXPANDED_NODES:,} nodes",
                    file=file, line=node.start_mark.line + 1, column=1,
                    hint="this looks like an alias bomb ('billion laughs'); write the values out or use fewer nested aliases")])
            builder.positions = {}
            data = builder.build(node, ())
            if data is None:
                continue
            documents.append(Document(data, file, builder.positions, index))
    except yaml.YAMLError as exc:
        raise ManifestkitError([*builder.errors, _syntax_error(exc, file, text)]) from None
    if builder.errors:
        raise ManifestkitError(builder.errors)
    return documents


def load_file(path: str, display: str | None = None) -> list[Document]:
    """Read and load a YAML file; a missing or unreadable file is a located error."""
    name = display or path
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ManifestkitError([Diagnostic("file not found", file=name, hint="check the path; relative paths are relative to the file that names them")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestkitError([Diagnostic(f"cannot read file: {exc.__class__.__name__}", file=name)]) from None
    return load_documents(text, name)


# ---------------------------------------------------------------- dumping

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
# ...and `1e3` as a float (PyYAML's YAML 1.1 floats need a dot).
_MkDumper.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9]+[eE][-+]?[0-9]+$"),
                                list("-+0123456789"))
_MkDumper.add_representer(str, _str_representer)
# SecretStr and other str subclasses dump as plain strings.
_MkDumper.add_multi_representer(str, _str_representer)


def dump(obj: Any) -> str:
    """One YAML document, block style, stable order."""
    return str(yaml.dump(obj, Dumper=_MkDumper, sort_keys=False, default_flow_style=False,
                         allow_unicode=True, width=1 << 16))


def dump_all(objs: Iterable[Any]) -> str:
    """A multi-document stream, documents separated by ``---``."""
    return "---\n".join(dump(o) for o in objs)
