"""Jinja2 for the non-YAML files users and patterns need: sandboxed, StrictUndefined, bounded
in output and work, and unable to read files outside the folder it is given.

The sandbox itself is :mod:`manifestkit.template_engine`, imported on the first render.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from manifestkit.package_data import data_dir

if TYPE_CHECKING:
    import jinja2


def environment(root: str) -> jinja2.Environment:
    """A sandboxed environment whose loader only sees files under ``root``."""
    from manifestkit.template_engine import environment as sandboxed

    return sandboxed(root)


def render_file(root: Path, relative: str, context: Mapping[str, Any]) -> str:
    """Render ``relative`` (a path under ``root``). Raises jinja2 errors for the caller to locate."""
    return environment(str(root)).get_template(relative).render(**context)


def render_builtin(name: str, context: Mapping[str, Any]) -> str:
    """Render one of the package's own templates (templates/NAME)."""
    return render_file(data_dir("templates"), name, context)


def describe_error(exc: Exception) -> tuple[str, int]:
    """A one-line message and the template line for a Jinja2 error."""
    import jinja2
    from jinja2.exceptions import SecurityError

    from manifestkit.template_engine import OutputTooLarge

    if isinstance(exc, jinja2.TemplateNotFound):
        found_outside = exc.message and exc.message != exc.name
        return (
            f"template {exc.message}" if found_outside else f"template {exc.name!r} not found under the project folder",
            _traceback_line(exc),
        )
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return f"template syntax error: {exc.message}", exc.lineno or 0
    if isinstance(exc, jinja2.UndefinedError):
        return f"template uses an undefined variable: {exc.message}", _traceback_line(exc)
    if isinstance(exc, SecurityError):
        return f"template tried an unsafe operation: {exc}", 0 if isinstance(exc, OutputTooLarge) else _traceback_line(
            exc
        )
    if isinstance(exc, UnicodeDecodeError):
        data = exc.object if isinstance(exc.object, bytes) else b""
        return f"template is not UTF-8 text: byte {data[exc.start]:#04x} cannot be decoded", data.count(
            b"\n", 0, exc.start
        ) + 1
    return f"template failed: {exc.__class__.__name__}: {exc}", _traceback_line(exc)


def _traceback_line(exc: BaseException) -> int:
    """Jinja2 rewrites tracebacks so template frames carry the template's file and line."""
    tb = exc.__traceback__
    line = 0
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if not name.endswith(".py") and not name.startswith("<frozen"):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
