"""Resolved secret values that never print themselves.

A :class:`SecretStr` behaves as ``str`` for code that needs the value (encoding into a
Secret, encrypting) but its ``repr`` and ``format`` with ``!r`` are ``'<redacted>'``, so
a log line, an error, an exception or a test diff cannot show it by accident.
"""

from __future__ import annotations

REDACTED = "<redacted>"


class SecretStr(str):
    """A secret value. ``str(x)`` is still the value: only use it where it must be."""

    __slots__ = ()

    def __repr__(self) -> str:
        return REDACTED

    def reveal(self) -> str:
        """The plain value, spelled out where code really needs it."""
        return str.__str__(self)


def redact_tree(value: object) -> object:
    """A copy of a plain tree with every SecretStr replaced by the redaction marker."""
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_tree(v) for v in value]
    return value
