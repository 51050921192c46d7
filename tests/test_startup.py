"""Start-up: `--version` and `--help` import no command module, and the CLI's help lines are the modules' own."""

from __future__ import annotations

import subprocess
import sys

import pytest

from manifestkit.cli import COMMANDS, CommandModule

HEAVY = ("manifestkit.api", "manifestkit.cmd_render", "manifestkit.pipeline", "jsonschema", "hvac", "jinja2",
         "kubernetes_validate", "cryptography", "pyrage", "yaml")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_lines_are_the_command_modules_own(name: str) -> None:
    entry = COMMANDS[name]
    assert isinstance(entry, CommandModule)
    assert entry.help == entry.load().help


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help_import_no_command_module(flag: str) -> None:
    script = (f"import sys; from manifestkit.cli import main\ntry: main([{flag!r}])\nexcept SystemExit: pass\n"
              f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines()[-1] == "[]"
