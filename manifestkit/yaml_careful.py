"""The careful YAML loader: libyaml composes nodes, a builder makes plain data and keeps positions.

It refuses what YAML libraries accept silently (duplicate keys, alias bombs, recursion, deep nesting,
bad tags and merge keys) and keeps each value's line and column in a side table, never in the data.
:mod:`manifestkit.yamlio` uses it for files the fast path cannot prove clean, and to locate diagnostics.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NamedTuple

import yaml

from manifestkit.diagnostics import Diagnostic, ManifestkitError

PathKey = tuple[str | int, ...]
Position = tuple[int, int]

# Aliases may add at most this many nodes to a document once followed (a file without
# aliases is never refused for its size), and no document may nest deeper than MAX_DEPTH.
MAX_EXPANDED_NODES = 1_000_000
MAX_DEPTH = 100

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Built(NamedTuple):
    """One document as the careful loader built it."""
    data: Any
    positions: dict[PathKey, Position]
    number: int   # the document's place in its stream


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



MERGE_TAG = "tag:yaml.org,2002:merge"


class Measure(NamedTuple):
    """What a composed document costs once its aliases are followed."""

    expanded: int    # nodes of the document with every alias written out
    distinct: int    # nodes actually written in the file
    recursive: bool  # an alias refers to a node that contains it


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def measure(root: yaml.Node) -> Measure:
    """Size of ``root`` with aliases followed, without building anything.

    Iterative (no recursion limit) and keyed by ``id`` only while ``root`` keeps every node
    alive, so a later document can never meet a stale entry.
    """
    done: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            done[key] = 1 + sum(done[id(kid)] for kid in _children(node))
            open_.discard(key)
            continue
        if key in open_:
            return Measure(0, len(done), True)
        if key in done:
            continue
        open_.add(key)
        stack.append((node, True))
        stack.extend((kid, False) for kid in _children(node))
    return Measure(done[id(root)], len(done), False)


def limit_error(node: yaml.Node, file: str) -> Diagnostic | None:
    """The located refusal of a document that is recursive or an alias bomb."""
    size = measure(node)
    if size.recursive:
        message = "a YAML alias refers to a node that contains it (a recursive structure)"
        hint = "Kubernetes objects are trees; write the repeated part out instead of aliasing its parent"
    elif size.expanded - size.distinct > MAX_EXPANDED_NODES:
        message = f"YAML aliases expand to more than {MAX_EXPANDED_NODES:,} nodes"
        hint = "this looks like an alias bomb ('billion laughs'); write the values out or use fewer nested aliases"
    else:
        return None
    return Diagnostic(message=message, file=file, line=node.start_mark.line + 1, column=1, hint=hint)


class _Builder:
    """Turns composed nodes into plain data, recording positions and refusing what is ambiguous."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.positions: dict[PathKey, Position] = {}
        self.errors: list[Diagnostic] = []
        self.too_deep = False
        self._constructor = yaml.SafeLoader("")  # only used for scalar resolution

    def document(self, node: yaml.Node) -> Any:
        """The plain data of one document, positions starting afresh."""
        self.positions = {}
        return self.build(node, ())

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if len(path) >= MAX_DEPTH:
            if not self.too_deep:
                self.too_deep = True
                self._error(node, path[:6], f"YAML nesting is deeper than {MAX_DEPTH} levels (below this key)",
                            "no Kubernetes object nests this deep; check the indentation or flatten the data")
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _pairs(self, node: yaml.MappingNode, path: PathKey) -> list[tuple[yaml.Node, yaml.Node, bool]]:
        """Key/value nodes with ``<<`` merges resolved as YAML 1.1 says: the mapping's own keys win
        over merged ones, and an earlier merged mapping wins over a later one. True marks own keys."""
        merged: list[tuple[yaml.Node, yaml.Node, bool]] = []
        own: list[tuple[yaml.Node, yaml.Node, bool]] = []
        for key_node, value_node in node.value:
            if key_node.tag != MERGE_TAG:
                own.append((key_node, value_node, True))
                continue
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for source in reversed(sources):
                if not isinstance(source, yaml.MappingNode):
                    self._error(source, path, "a `<<` merge key takes a mapping or a list of mappings",
                                "point `<<` at an anchored mapping, e.g. `<<: *defaults`")
                    continue
                merged.extend((k, v, False) for k, v, _ in self._pairs(source, path))
        return merged + own

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        seen: dict[Any, yaml.Node] = {}
        for key_node, value_node, explicit in self._pairs(node, path):
            key = self._scalar(key_node, path) if isinstance(key_node, yaml.ScalarNode) else None
            if key is None or isinstance(key, (list, dict)):
                self._error(key_node, path, "mapping key must be a scalar", "")
                continue
            if not isinstance(key, str):
                key = str(key).lower() if isinstance(key, bool) else str(key)
            if explicit and key in seen:
                first = seen[key].start_mark.line + 1
                self._error(key_node, (*path, key), f"duplicate key {key!r} (first defined on line {first})",
                            "remove one of the two; YAML keeps only the last and the other is silently lost")
                continue
            if explicit:
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
        except (ValueError, TypeError, KeyError, AttributeError):
            # PyYAML's constructors fail this way on `!!int two`, `!!bool maybe`, `!!timestamp x`.
            tag = node.tag.rsplit(":", 1)[-1]
            self._error(node, path, f"cannot read value: {node.value!r} is not a valid !!{tag}",
                        f"remove the `!!{tag}` tag or write a valid {tag}")
        return None

    def _error(self, node: yaml.Node, path: PathKey, message: str, hint: str) -> None:
        self.errors.append(Diagnostic(message=message, file=self.file, line=node.start_mark.line + 1,
                                      column=node.start_mark.column + 1, path=format_path(path), hint=hint))


def _line_column(text: str, offset: int) -> Position:
    """1-based line and column of a character offset."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _syntax_error(exc: yaml.YAMLError, file: str, text: str) -> Diagnostic:
    if isinstance(exc, yaml.reader.ReaderError):
        line, column = _line_column(text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return Diagnostic(
            message=f"invalid YAML: the control character U+{code:04X} is not allowed in YAML text",
            file=file,
            line=line,
            column=column,
            hint="remove the control character (files must be text; binary data belongs in binaryData, base64)",
        )
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
    return Diagnostic(message=message, file=file, line=line, column=column, hint=hint)



def careful_documents(text: str, file: str, lenient: bool) -> tuple[list[Built], list[Diagnostic]]:
    """Every non-empty document of ``text`` with its positions, and the problems found (raised at
    once instead, as ManifestkitError, for an alias bomb unless ``lenient``)."""
    builder = _Builder(file)
    documents: list[Built] = []
    problems: list[Diagnostic] = []
    may_alias = "*" in text   # without an alias a document is as big as its text and a tree
    try:
        for index, node in enumerate(yaml.compose_all(text, Loader=_Loader)):
            if node is None:
                continue
            refused = limit_error(node, file) if may_alias else None
            if refused is not None:
                if not lenient:
                    raise ManifestkitError([refused])
                problems.append(refused)
                continue
            data = builder.document(node)
            if data is not None:
                documents.append(Built(data, builder.positions, index))
    except yaml.YAMLError as exc:
        problems.append(_syntax_error(exc, file, text))
    except RecursionError:  # libyaml's composer itself, past the nesting our check sees
        problems.append(
            Diagnostic(message=f"YAML nesting is deeper than {MAX_DEPTH} levels", file=file, line=1, column=1)
        )
    return documents, [*builder.errors, *problems]
