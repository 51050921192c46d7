"""Start-up: `--version` and `--help` import no command module, and the CLI's help lines are the modules' own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from manifestkit.cli import COMMANDS, CommandModule

from .conftest import EXAMPLES

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


# Imported only where needed: the sops stack by a sops reference or Secret, python-jsonschema by an error to word.
LAZY = ("cryptography", "ruamel.yaml", "manifestkit.secrets.sops", "jsonschema")


def test_a_clean_render_without_sops_imports_neither_sops_nor_python_jsonschema(tmp_path: Path) -> None:
    """Each is a sixth of a one-app render's imports (Argo CD's plugin renders one app per call); http-echo composes
    patterns, whose parameters the compiled validator finds valid."""
    script = (f"import sys; from manifestkit.cli import main\n"
              f"try: main(['render', {str(EXAMPLES / 'http-echo')!r}, '-o', {str(tmp_path / 'out')!r}, '--no-cache'])\n"
              f"except SystemExit as exc: assert not exc.code, exc.code\n"
              f"print(sorted(m for m in {LAZY!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert (tmp_path / "out").is_dir()
    assert result.stdout.splitlines()[-1] == "[]"
