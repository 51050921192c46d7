"""YAML in: load user files into plain data, and locate a value only when a diagnostic needs it.

A file the fast native loader (:mod:`manifestkit.yaml_fast`) can prove clean is read by it
and pays nothing for positions: its :class:`Document` re-reads the file with the careful,
position-keeping loader (:mod:`manifestkit.yaml_careful`) the first time a position is asked
for. Every other file goes through the careful loader, which refuses what YAML libraries
accept silently (duplicate keys, alias bombs) with located diagnostics.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.yaml_careful import PathKey, Position, careful_documents
from manifestkit.yaml_careful import format_path as format_path
from manifestkit.yaml_fast import fast_data
from manifestkit.yaml_locate import quick_position


class Document(NamedTuple):
    """One YAML document: plain data plus where each value was written."""

    data: Any
    file: str
    positions: Mapping[PathKey, Position]
    number: int = 0   # the document's place in its stream
    plain: bool = False   # data only of dicts with str keys, lists, str, int, bool, None (the fast loader proved it)

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
        return Diagnostic(message=message, file=self.file, line=line, column=column,
                          path=format_path(path), hint=hint, **more)



class LazyPositions(Mapping[PathKey, Position]):
    """The positions of document ``number`` of ``text`` (read as ``data``): what a line scan can
    tell for certain, else the careful loader's, found on first use. Which paths exist is told
    by the data, which holds every value the careful loader would record. ``text`` may be the
    file's UTF-8 bytes (an emitted file): it is decoded only when a position is asked for."""

    def __init__(self, text: str | bytes, file: str, number: int, data: Any) -> None:
        self._source, self._file, self._number, self._data = text, file, number, data
        self._table: dict[PathKey, Position] | None = None
        self._found: dict[PathKey, Position] = {}   # what the line scan told, by path

    def _text(self) -> str:
        if isinstance(self._source, bytes):
            self._source = self._source.decode("utf-8")
        return self._source

    def _positions(self) -> dict[PathKey, Position]:
        if self._table is None:
            built, _ = careful_documents(self._text(), self._file, lenient=True)
            self._table = next((b.positions for b in built if b.number == self._number), {})
        return self._table

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple):
            return False
        node = self._data
        for part in key:
            if isinstance(node, dict) and isinstance(part, str) and part in node:
                node = node[part]
            elif isinstance(node, list) and type(part) is int and 0 <= part < len(node):
                node = node[part]
            else:
                return False
        return True

    def __getitem__(self, key: PathKey) -> Position:
        if key not in self:
            raise KeyError(key)
        if self._table is None:
            found = self._found.get(key)
            if found is not None:
                return found
            # The lines are split again for each new path rather than kept: a project's documents
            # are asked for a position or two each, and thousands of kept line lists add up.
            quick = quick_position(self._text().split("\n"), key)
            if quick is not None:
                self._found[key] = quick
                return quick
        return self._positions()[key]

    def __iter__(self) -> Iterator[PathKey]:
        return iter(self._positions())

    def __len__(self) -> int:
        return len(self._positions())


def _documents(text: str, file: str, lenient: bool) -> tuple[list[Document], list[Diagnostic]]:
    proven, data = fast_data(text)
    if proven:
        return ([] if data is None else [Document(data, file, LazyPositions(text, file, 0, data), 0, plain=True)]), []
    built, problems = careful_documents(text, file, lenient)
    return [Document(b.data, file, b.positions, b.number) for b in built], problems


def load_documents(text: str, file: str) -> list[Document]:
    """All documents of a YAML stream (empty documents skipped), or ManifestkitError."""
    documents, problems = _documents(text, file, lenient=False)
    if problems:
        raise ManifestkitError(problems)
    return documents


def load_documents_lenient(text: str, file: str) -> tuple[list[Document], list[Diagnostic]]:
    """Every document that could be read, and the problems of the rest (for ``validate``, which
    reports problems as findings and checks what it can)."""
    return _documents(text, file, lenient=True)


def decode(data: bytes, file: str) -> str:
    """UTF-8 text of a file (a leading BOM dropped); bad bytes are a located error."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ManifestkitError(
            [
                Diagnostic(
                    message=f"file is not UTF-8 text: byte {data[exc.start]:#04x} cannot be decoded",
                    file=file,
                    line=line,
                    column=column,
                    hint="save the file as UTF-8",
                )
            ]
        ) from None


def load_bytes(data: bytes, file: str) -> list[Document]:
    """Load a YAML stream given as bytes (stdin, a ref+file target)."""
    return load_documents(decode(data, file), file)


def read_text(path: str, display: str | None = None) -> str:
    """A UTF-8 text file; a missing, unreadable or undecodable file is a located error."""
    name = display or path
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise ManifestkitError(
            [
                Diagnostic(
                    message="file not found",
                    file=name,
                    hint="check the path; relative paths are relative to the file that names them",
                )
            ]
        ) from None
    except OSError as exc:
        raise ManifestkitError(
            [Diagnostic(message=f"cannot read file: {exc.strerror or exc.__class__.__name__}", file=name)]
        ) from None
    return decode(data, name)


def load_file(path: str, display: str | None = None) -> list[Document]:
    """Read and load a YAML file; a missing or unreadable file is a located error."""
    name = display or path
    return load_documents(read_text(path, name), name)
