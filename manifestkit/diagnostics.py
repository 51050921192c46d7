"""Diagnostics: located error values, collected and reported together.

Every user-facing problem is a :class:`Diagnostic`. Steps collect them in lists and
raise :class:`ManifestkitError` once with all of them, so a user sees every mistake
of a file in one run.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

ERROR = "error"
WARNING = "warning"
INFO = "info"

SEVERITY_RANK = {INFO: 0, WARNING: 1, ERROR: 2}


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnostic:
    """One problem at one place. ``line``/``column`` are 1-based, 0 when unknown."""

    message: str
    file: str = ""
    line: int = 0
    column: int = 0
    path: str = ""
    hint: str = ""
    severity: str = ERROR
    rule: str = ""

    def location(self) -> str:
        parts = [self.file or "<input>"]
        if self.line:
            parts.append(str(self.line))
            if self.column:
                parts.append(str(self.column))
        return ":".join(parts)

    def format(self) -> str:
        rule = f" [{self.rule}]" if self.rule else ""
        where = f"{self.path}: " if self.path else ""
        text = f"{self.location()}: {self.severity}{rule}: {where}{self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class ManifestkitError(Exception):
    """Bad input or usage (exit code 2); carries every diagnostic found."""

    exit_code = 2

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = sort_diagnostics(diagnostics)
        super().__init__("\n".join(d.format() for d in self.diagnostics))


class FindingsError(ManifestkitError):
    """Rendered output is invalid (exit code 1): e.g. Kubernetes schema errors."""

    exit_code = 1


def gather(items: Iterable[T], each: Callable[[T], Iterable[R]]) -> list[R]:
    """``each`` over every item, concatenated; the ManifestkitErrors of all items are
    collected and raised together, so one run reports every mistake."""
    out: list[R] = []
    problems: list[Diagnostic] = []
    for item in items:
        try:
            out.extend(each(item))
        except ManifestkitError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise ManifestkitError(problems)
    return out


def fold(items: Iterable[T], start: R, each: Callable[[R, T], R]) -> R:
    """Like :func:`gather` for steps where each item feeds the next: ``each(value, item)``
    over every item, starting from ``start``; an item that raises ManifestkitError leaves
    the value as it was, and the errors of all items are raised together."""
    value = start
    problems: list[Diagnostic] = []
    for item in items:
        try:
            value = each(value, item)
        except ManifestkitError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise ManifestkitError(problems)
    return value


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=lambda d: (d.file, d.line, d.column, d.path, d.message))


def error(message: str, **where: object) -> ManifestkitError:
    """Shortcut: one diagnostic wrapped in an exception ready to raise."""
    return ManifestkitError([Diagnostic(message=message, **where)])  # type: ignore[arg-type]


def display_path(path: str | os.PathLike[str]) -> str:
    """A path as messages show it: relative to the working directory when it can be."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def display_names(names: Iterable[str]) -> dict[str, str]:
    """:func:`display_path` of each of ``names`` (the working directory asked once, not once per name)."""
    here = os.getcwd().rstrip("/") + "/"
    return {name: name[len(here):] if name.startswith(here) and len(name) > len(here) and os.path.normpath(name) == name
            else display_path(name) for name in names}


def type_name(value: object) -> str:
    """What a message calls a YAML value's type: "a mapping", "a list", "a string", ..."""
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def short_value(value: object) -> str:
    """A value as JSON, cut to 40 characters for a one-line message."""
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """A hint naming the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def one_of(choices: Iterable[str]) -> str:
    return ", ".join(sorted(choices))
