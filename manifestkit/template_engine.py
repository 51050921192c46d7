"""The Jinja2 sandbox behind :mod:`manifestkit.templating`: StrictUndefined, bounded in output and work, and unable to
read files outside the folder it is given.

Imported only when a template is rendered: a project without templates or templated patterns
never pays for importing Jinja2.
"""

from __future__ import annotations

import functools
import operator
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

# A ConfigMap holds at most 1 MiB, so no file manifestkit renders needs more; the same bound
# caps any string, list or number of characters one expression may build.
MAX_OUTPUT = 1 << 20
# Loop iterations `range()` may hand out in one render, over all its calls.
MAX_ITERATIONS = 100_000
# Bits of an integer power (`2 ** 100000` takes long to compute and to print).
MAX_POWER_BITS = 4096


def _size(value: Any) -> int:
    return len(value) if isinstance(value, (str, bytes, list, tuple, dict)) else 0


def _check_size(value: Any) -> Any:
    if _size(value) > MAX_OUTPUT:
        raise SecurityError(f"a template value grew past {MAX_OUTPUT:,} characters")
    return value


def _check_args(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Refuse a width or count that would build an oversized value (`center(10**9)`)."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_OUTPUT:
            raise SecurityError(f"a template argument of {value:,} exceeds the limit of {MAX_OUTPUT:,}")


def _bounded_filter(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _check_args(args[1:], kwargs)
        return _check_size(function(*args, **kwargs))
    return bounded


class OutputTooLarge(SecurityError):
    """The rendered text passed MAX_OUTPUT (raised between template lines, so it has none)."""


class _BoundedTemplate(jinja2.Template):
    """Renders by streaming, so output past MAX_OUTPUT stops the render instead of filling memory."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        budget = {"iterations": MAX_ITERATIONS}
        context = self.new_context({**dict(*args, **kwargs), "range": functools.partial(_range, budget)})
        parts: list[str] = []
        size = 0
        try:
            for part in self.root_render_func(context):
                size += len(part)
                if size > MAX_OUTPUT:
                    raise OutputTooLarge(f"template output grew past {MAX_OUTPUT:,} characters")
                parts.append(part)
        except Exception:
            self.environment.handle_exception()
        return "".join(parts)


def _range(budget: dict[str, int], *args: int) -> Iterator[int]:
    _check_args(args, {})
    numbers = range(*args)
    if len(numbers) > budget["iterations"]:
        raise SecurityError(f"template loops ran past {MAX_ITERATIONS:,} iterations of range()")
    budget["iterations"] -= len(numbers)
    return iter(numbers)


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, with the operators and calls that can build huge values checked first."""

    template_class = _BoundedTemplate
    intercepted_binops = frozenset({"*", "**", "+"})

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        if op == "*":
            count, other = (right, left) if isinstance(right, int) else (left, right)
            if isinstance(count, int) and _size(other) * max(count, 0) > MAX_OUTPUT:
                raise SecurityError(f"a template value grew past {MAX_OUTPUT:,} characters")
        if op == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1 \
                and right * max(abs(left).bit_length(), 1) > MAX_POWER_BITS:
            raise SecurityError(f"a template power exceeds {MAX_POWER_BITS} bits")
        return _check_size(_BINOPS[op](left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_args(args, kwargs)
        return _check_size(super().call(__context, __obj, *args, **kwargs))


_BINOPS: dict[str, Callable[[Any, Any], Any]] = {"*": operator.mul, "**": operator.pow, "+": operator.add}


class _RootLoader(jinja2.FileSystemLoader):
    """A FileSystemLoader that refuses a template whose real path (after symlinks) leaves the root."""

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        root = os.path.realpath(self.searchpath[0])
        real = os.path.realpath(filename)
        if os.path.commonpath([root, real]) != root:
            raise jinja2.TemplateNotFound(template, f"{template!r} resolves outside the project folder (a symlink)")
        return source, filename, uptodate


@functools.cache
def environment(root: str) -> jinja2.Environment:
    """A sandboxed environment whose loader only sees files under ``root``."""
    env = _Sandbox(loader=_RootLoader(root), undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                   autoescape=False)
    env.filters = {name: _bounded_filter(function) for name, function in env.filters.items()}
    # namespace() is the one mutable value a template can grow across loop iterations.
    del env.globals["namespace"]
    return env
