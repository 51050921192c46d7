"""Jinja2 for the non-YAML files users and patterns need: sandboxed, StrictUndefined,
and unable to read files outside the folder it is given."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from manifestkit.package_data import data_dir


@functools.cache
def environment(root: str) -> jinja2.Environment:
    """A sandboxed environment whose loader only sees files under ``root``."""
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.FileSystemLoader(root),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    return env


def render_file(root: Path, relative: str, context: Mapping[str, Any]) -> str:
    """Render ``relative`` (a path under ``root``). Raises jinja2 errors for the caller to locate."""
    return environment(str(root)).get_template(relative).render(**context)


def render_builtin(name: str, context: Mapping[str, Any]) -> str:
    """Render one of the package's own templates (templates/NAME)."""
    return render_file(data_dir("templates"), name, context)


def describe_error(exc: Exception) -> tuple[str, int]:
    """A one-line message and the template line for a Jinja2 error."""
    if isinstance(exc, jinja2.TemplateNotFound):
        return f"template {exc.name!r} not found under the project folder", 0
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return f"template syntax error: {exc.message}", exc.lineno or 0
    if isinstance(exc, jinja2.UndefinedError):
        return f"template uses an undefined variable: {exc.message}", _traceback_line(exc)
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return f"template tried an unsafe operation: {exc}", _traceback_line(exc)
    return f"template failed: {exc.__class__.__name__}: {exc}", _traceback_line(exc)


def _traceback_line(exc: BaseException) -> int:
    """Jinja2 rewrites tracebacks so template frames carry the template's file and line."""
    tb = exc.__traceback__
    line = 0
    while tb is not None:
        if not tb.tb_frame.f_code.co_filename.endswith(".py"):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
