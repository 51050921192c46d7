"""The lint rules over what `manifestkit render` writes, so a render that exits 0 passes `manifestkit validate`.

Every object of the output gets the rules of :data:`~manifestkit.lint.rules.RULES`, configured
by the Project's ``spec.lint``; schema checks are the render's own (``--no-validate``). The
objects are the ones the emitters dumped (each :class:`~manifestkit.writer.OutFile` holds its
documents beside its bytes), so nothing is parsed again: only a file with a finding is read,
and only to locate it (:class:`~manifestkit.yamlio.LazyPositions`). A file without its
objects is read back as `validate` (and the shipped pre-commit hook) reads it; that reading
(:func:`lint_texts`) is also the reference the tests hold the in-memory route to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from manifestkit.diagnostics import Diagnostic, sort_diagnostics
from manifestkit.lint import active_rules, lint_object
from manifestkit.lint.base import LintContext
from manifestkit.lint.config import LintConfig, find_config, load_config
from manifestkit.lint.rules import RULES
from manifestkit.lint.workload_rules import index_workloads
from manifestkit.validation_checks import not_kubernetes
from manifestkit.validation_inputs import Unit, read_units, units_of_document
from manifestkit.writer import OutFile
from manifestkit.yaml_careful import PathKey, Position
from manifestkit.yamlio import Document, LazyPositions

YAML_SUFFIXES = (".yaml", ".yml")
# Plaintext Secrets in the output are the render's own check (secrets.hygiene, --allow-plaintext-secrets),
# made where it knows whether the folder is inside a git work tree; MK014 would repeat it without knowing.
RENDER_CHECKS_ITSELF = frozenset({"MK014"})
STDOUT = "<stdout>"


def render_config(project_file: str, folder: Path) -> LintConfig:
    """The Project's ``spec.lint``; without a Project file, ``.manifestkit.yaml`` in ``folder``."""
    config = load_config(Path(project_file), RULES) if project_file and Path(project_file).is_file() \
        else find_config(folder, RULES)
    return config._replace(disable=config.disable | RENDER_CHECKS_ITSELF)


def lint_units(units: Callable[[], Iterable[Unit]], config: LintConfig,
               also: Sequence[tuple[str, Mapping[str, Any]]] = ()) -> list[Diagnostic]:
    """Every lint finding on the Kubernetes objects among ``units()``, looked at together (Service → pods).
    ``units`` is called twice, first for the index of workloads, then to lint unit by unit, so a
    unit's document (and whatever it learnt to locate a finding) is dropped once it is linted. ``also``:
    the objects of other files (file name, object) that the rules looking across objects see too (the
    render cache lints only the files that changed)."""
    seen = (u.obj for u in units() if not not_kubernetes(u.obj)) if not also else \
        (obj for _, obj in sorted([*((u.file, u.obj) for u in units() if not not_kubernetes(u.obj)), *also],
                                  key=lambda pair: pair[0]))
    workloads, rules = index_workloads(seen), active_rules(config)
    findings: list[Diagnostic] = []
    for unit in units():
        if not not_kubernetes(unit.obj):
            ctx = LintContext(workloads=workloads, settings=config.settings, file=unit.file, encrypted=unit.encrypted)
            findings.extend(lint_object(unit.obj, ctx, config, unit.doc, unit.prefix, rules))
    return sort_diagnostics(findings)


def lint_texts(texts: Mapping[str, str], config: LintConfig) -> list[Diagnostic]:
    """Every lint finding on the YAML ``texts`` (file name → text), each file parsed as `validate` parses it."""
    units = [u for file, text in sorted(texts.items())
             for u in read_units(text, file, strict=False)[0]]    # YAML problems are the render's to report
    return lint_units(lambda: units, config)


def lint_files(files: Mapping[str, OutFile], target: Path, config: LintConfig,
               also: Mapping[str, Mapping[str, Any]] | None = None) -> list[Diagnostic]:
    """:func:`lint_texts`'s findings on the YAML files of an output (relative path → file), named under
    ``target``: read from the objects each file holds, its bytes parsed only when it holds none; ``also``:
    the objects of the output's other files (relative path → object), seen by the cross-object rules."""
    under = _under(target)
    named = sorted((under(rel), out) for rel, out in files.items() if rel.endswith(YAML_SUFFIXES))
    parsed = {file: read_units(out.data.decode("utf-8"), file, strict=False)[0] for file, out in named
              if not out.objects}

    def units() -> Iterator[Unit]:
        for file, out in named:
            yield from _held(file, out.data, out.objects) if out.objects else parsed[file]
    return lint_units(units, config, [(str(target / rel), obj) for rel, obj in (also or {}).items()])


def lint_stream(documents: Sequence[tuple[Mapping[str, Any], str]], config: LintConfig,
                file: str = STDOUT) -> list[Diagnostic]:
    """:func:`lint_texts`'s findings on one YAML stream, given as its documents (each object and
    the text it was dumped to; the stream joins them with ``---`` lines)."""
    def units() -> Iterator[Unit]:
        line = 0
        for number, (obj, text) in enumerate(documents):
            positions = LazyPositions(text, file, 0, obj)
            yield from units_of_document(Document(obj, file, _Shifted(positions, line) if line else positions, number))
            line += text.count("\n") + 1    # the document's lines and the `---` after it
    return lint_units(units, config)


def _under(target: Path) -> Callable[[str], str]:
    """``str(target / rel)``, without building a Path for each plain relative path (the emitters' own)."""
    prefix = str(target / "x")[:-1]    # "out/", "/" for the root, "" for "."

    def name(rel: str) -> str:
        plain = rel and not rel.startswith("/") and not rel.endswith("/") and "//" not in rel \
            and "/./" not in f"/{rel}/"
        return prefix + rel if plain else str(target / rel)
    return name


def _held(file: str, data: str | bytes, objects: Sequence[Any]) -> Iterator[Unit]:
    """The units of a file's ``objects``, located in ``data`` when a finding asks."""
    for number, obj in enumerate(objects):
        yield from units_of_document(Document(obj, file, LazyPositions(data, file, number, obj), number))


class _Shifted(Mapping[PathKey, Position]):
    """The positions of a document that starts ``lines`` lines into its stream."""

    def __init__(self, inner: Mapping[PathKey, Position], lines: int) -> None:
        self._inner, self._lines = inner, lines

    def __contains__(self, key: object) -> bool:
        return key in self._inner

    def __getitem__(self, key: PathKey) -> Position:
        line, column = self._inner[key]
        return line + self._lines, column

    def __iter__(self) -> Iterator[PathKey]:
        return iter(self._inner)

    def __len__(self) -> int:
        return len(self._inner)
