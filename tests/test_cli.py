"""The CLI entry: `-v` on either side of the subcommand logs each render step; one handler maps errors to exit codes."""

from __future__ import annotations

import argparse
import gc
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from manifestkit import cli, cmd_validate
from manifestkit.cli import main
from manifestkit.command import Command, one_heap
from manifestkit.diagnostics import Diagnostic, FindingsError, ManifestkitError

ROOT = Path(__file__).resolve().parents[1]
ES = str(ROOT / "examples" / "elasticsearch")
STEPS = [
    "build_objects",
    "compose_patterns",
    "patch_objects",
    "resolve_secrets",
    "default_pattern_containers",
    "add_checksums",
    "check_objects",
]
STEP_LINE = re.compile(r"^default: step (\w+): (\d+) object\(s\) in \d+\.\d ms$")


def step_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, int]]:
    found = [STEP_LINE.match(r.getMessage()) for r in caplog.records if r.name == "manifestkit.pipeline"]
    return [(m[1], int(m[2])) for m in found if m]


@pytest.mark.parametrize("argv", [["-v", "render", ES, "-o", "-"], ["render", ES, "-o", "-", "-v"],
                                  ["render", "--verbose", ES, "-o", "-"]])
def test_verbose_logs_each_step_with_its_count(argv: list[str], caplog: pytest.LogCaptureFixture,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    assert step_lines(caplog) == [("build_objects", 2), ("compose_patterns", 3), ("patch_objects", 3),
                                  ("resolve_secrets", 3),
                                  ("default_pattern_containers", 3), ("add_checksums", 3), ("check_objects", 3)]
    assert capsys.readouterr().out.startswith("apiVersion: ")


def test_without_verbose_no_step_is_logged(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-v", "render", ES, "-o", "-"]) == 0   # an earlier verbose run in the same process does not stick
    caplog.clear()
    assert main(["render", ES, "-o", "-"]) == 0
    assert step_lines(caplog) == []


def test_verbose_logs_names_not_contents(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", ES, "-o", "-", "-v"]) == 0
    assert [name for name, _ in step_lines(caplog)] == STEPS
    assert "elasticsearch:" not in caplog.text and "image" not in caplog.text


def _command(error: BaseException) -> Command:
    def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
        raise error
    return Command("fails", lambda parser: None, run)


@pytest.mark.parametrize(
    ("error", "code", "stderr"),
    [
        (
            ManifestkitError(
                [Diagnostic(message="found 'x'; expected 'y'", file="a.yaml", line=3, column=5, hint="write y")]
            ),
            2,
            "a.yaml:3:5: error: found 'x'; expected 'y'\n  hint: write y\n",
        ),
        (FindingsError([Diagnostic(message="bad object", file="b.yaml", line=1)]), 1, "b.yaml:1: error: bad object\n"),
    ],
)
def test_located_errors_become_exit_codes(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                          error: ManifestkitError, code: int, stderr: str) -> None:
    monkeypatch.setitem(cli.COMMANDS, "render", _command(error))
    assert main(["render"]) == code
    assert capsys.readouterr().err == stderr


def test_a_bug_is_exit_3_with_the_traceback_in_a_log(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    monkeypatch.setitem(cli.COMMANDS, "render", _command(KeyError("oops")))
    assert main(["render"]) == 3
    err = capsys.readouterr().err
    match = re.fullmatch(r"manifestkit: internal error; details in (\S+); please report it\n", err)
    assert match is not None and "Traceback" not in err
    log = Path(match[1])
    assert log.parent == tmp_path
    assert log.read_text().startswith("Traceback (most recent call last):") and "KeyError: 'oops'" in log.read_text()


def test_validate_on_its_own_uses_the_same_handler(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)

    def boom(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
        raise RuntimeError("bug")
    monkeypatch.setattr(cmd_validate, "run", boom)
    assert cmd_validate.main([]) == 3
    assert capsys.readouterr().err.startswith("manifestkit: internal error; details in ")


def test_verbose_lines_go_to_stderr() -> None:
    """In a real process (no pytest log capture) the lines reach stderr, stdout stays the YAML."""
    done = subprocess.run([sys.executable, "-m", "manifestkit", "render", ES, "-o", "-", "-v"],
                          capture_output=True, text=True, check=False, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    names = [m[1] for line in done.stderr.splitlines()
             if (m := re.match(r"manifestkit: INFO: default: step (\w+): \d+ object\(s\) in ", line))]
    assert names == STEPS
    assert done.stdout.startswith("apiVersion: ")


def test_render_pauses_the_cyclic_collector_and_restores_it(tmp_path: Path) -> None:
    seen: list[bool] = []

    def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
        seen.append(gc.isenabled())
        raise ManifestkitError([Diagnostic(message="stop")])

    assert gc.isenabled()
    with pytest.raises(ManifestkitError):
        one_heap(run)(argparse.Namespace(), {})
    assert seen == [False] and gc.isenabled()
    assert main(["render", str(ROOT / "examples" / "shop"), "-o", str(tmp_path / "out"), "-q"]) == 0
    assert gc.isenabled()
