"""The CLI's COMMANDS registry loads command modules lazily; each entry's help is its module's own."""

from __future__ import annotations

import pytest

from manifestkit.cli import COMMANDS, CommandModule


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_lazy_entry_help_is_the_command_modules_help(name: str) -> None:
    entry = COMMANDS[name]
    assert isinstance(entry, CommandModule)
    assert entry.help == entry.load().help
