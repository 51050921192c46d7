"""The newcomer's first hour in the terminal: sharp edges, --help per command, diff's report, progress, colour,
completion."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from manifestkit import cmd_completion
from manifestkit.cli import build_parser, main
from manifestkit.diagnostics import did_you_mean
from manifestkit.lint import RULES

from ._pty import run_on_tty
from .conftest import EXAMPLES, ROOT


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    project = tmp_path / "shop"
    shutil.copytree(EXAMPLES / "shop", project, ignore=shutil.ignore_patterns("build"))
    return project


def test_stream_of_a_kustomize_project_suggests_plain(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", str(shop), "--format", "kustomize", "-o", "-"]) == 2
    assert capsys.readouterr().err == (
        "manifestkit: error: -o - writes one YAML stream; --format kustomize needs a folder\n"
        "  hint: pass --format plain -o - for one stream, or -o DIR for the kustomize files\n"
    )


def test_usage_errors_name_the_tool_not_input(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", str(shop), "-o", "-"]) == 2
    assert capsys.readouterr().err == ("manifestkit: error: -o - writes one environment; the project has dev, prod\n"
                                       "  hint: add --env dev\n")


def test_render_where_there_is_no_project(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["render"]) == 2
    assert capsys.readouterr().err == (
        "manifestkit: error: no manifestkit.yaml in the current folder; expected a project folder, a manifestkit.yaml "
        "or App files\n"
        "  hint: make a project with `manifestkit init`, or pass the project's folder: `manifestkit render PATH`\n"
    )
    (tmp_path / "empty").mkdir()
    assert main(["render", "empty"]) == 2
    assert capsys.readouterr().err == (
        "manifestkit: error: no manifestkit.yaml in 'empty'; expected a project folder, a manifestkit.yaml or App "
        "files\n"
        "  hint: make a project with `manifestkit init empty`, or pass the project's folder: `manifestkit render "
        "PATH`\n"
    )


def test_empty_folder_is_not_a_silent_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path)]) == 0
    assert capsys.readouterr() == ("", f"manifestkit: warning: no YAML or JSON files found in {tmp_path} "
                                       "(searched for *.yaml, *.yml, *.json); nothing was validated\n")


def test_validate_on_a_terminal_without_paths_prints_usage(tmp_path: Path) -> None:
    code, shown = run_on_tty(["validate"], tmp_path)
    usage = build_parser()._subparsers._group_actions[0].choices["validate"].format_usage()  # type: ignore[union-attr,index]
    assert code == 2
    assert (
        shown.replace("\r\n", "\n").split()
        == (
            f"{usage}manifestkit validate: no PATH given and stdin is a terminal; "
            "pass files or folders, or - to read YAML from stdin\n"
        ).split()
    )


def test_check_hint_names_the_exact_command(shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out dir"
    assert main(["render", str(shop), "--env", "dev", "-o", str(out), "--check"]) == 1
    err = capsys.readouterr().err
    assert err.endswith(
        f"manifestkit: 8 file(s) out of date in {out}; run `manifestkit render {shop} --env dev -o '{out}'` to update\n"
    )


def test_readme_commands_agree_with_the_project(tmp_path: Path) -> None:
    """The README renders examples/shop into its own output.dir, so the next natural command, --check, finds it
    fresh."""
    project = tmp_path / "examples" / "shop"
    shutil.copytree(EXAMPLES / "shop", project, ignore=shutil.ignore_patterns("build"))
    readme = (ROOT / "README.md").read_text()
    assert "manifestkit render examples/shop && " in readme and "manifestkit render examples/shop --check" in readme
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert main(["render", "examples/shop"]) == 0
        assert main(["render", "examples/shop", "--check"]) == 0
        assert main(["diff", "examples/shop"]) == 0
    finally:
        os.chdir(cwd)
    assert sorted(p.name for p in (project / "build").iterdir()) == [".manifestkit-files.json", "dev", "prod"]


def _help(command: str) -> str:
    sub = build_parser()._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr,index]
    return str(sub.format_help())


def test_each_help_lists_only_its_own_flags() -> None:
    render, diff = _help("render"), _help("diff")
    for flag in ("--check", "--force", "--allow-plaintext-secrets", "-o DIR, --output DIR"):
        assert flag in render
        assert flag not in diff
    assert "-o DIR, --dir DIR" in diff and "--output {json,text}" in diff
    assert "--kube-version" not in render and "--env" not in _help("validate")


def test_diff_summary_and_json(shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["render", str(shop), "--env", "dev", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["diff", str(shop), "--env", "dev", "-o", str(out)]) == 0
    assert capsys.readouterr() == (
        "",
        "manifestkit: 0 file(s) would change: 0 added, 0 changed, 0 removed; 8 unchanged\n",
    )
    web = shop / "apps" / "web.yaml"
    web.write_text(web.read_text().replace("listen: 8080", "listen: 9090"))
    assert main(["diff", str(shop), "--env", "dev", "-o", str(out), "--output", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["summary"] == {"added": 0, "changed": 2, "removed": 0, "unchanged": 6}
    assert [(c["path"], c["status"], c["secret"]) for c in report["changes"]] == [
        (str(out / "dev" / "shop-dev" / "configmap-web-config.yaml"), "changed", False),
        (str(out / "dev" / "shop-dev" / "deployment-web.yaml"), "changed", False)]
    assert "+        listen 9090;\n" in report["changes"][0]["diff"]
    assert main(["diff", str(shop), "--env", "dev", "-o", str(out), "-q"]) == 1
    assert capsys.readouterr().err == ""


def test_diff_is_coloured_on_a_terminal_only(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["render", str(shop), "--env", "dev", "-o", str(out)]) == 0
    web = shop / "apps" / "web.yaml"
    web.write_text(web.read_text().replace("listen: 8080", "listen: 9090"))
    code, shown = run_on_tty(["diff", str(shop), "--env", "dev", "-o", str(out)], tmp_path)
    assert code == 1
    assert "\x1b[32m+        listen 9090;\x1b[0m" in shown and "\x1b[31m-        listen 8080;\x1b[0m" in shown
    assert "manifestkit: 2 file(s) would change: 0 added, 2 changed, 0 removed; 6 unchanged" in shown
    code, shown = run_on_tty(["diff", str(shop), "--env", "dev", "-o", str(out)], tmp_path, {"NO_COLOR": "1"})
    assert code == 1 and "\x1b[" not in shown


def test_progress_bar_on_a_terminal_only(shop: Path, tmp_path: Path) -> None:
    fast = {"MANIFESTKIT_PROGRESS_DELAY": "0"}
    code, shown = run_on_tty(["render", str(shop), "-o", str(tmp_path / "a")], tmp_path, fast)
    assert code == 0 and "rendering: prod" in shown and "2/2" in shown
    assert "manifestkit: 18 written, 0 unchanged, 0 removed" in shown
    code, shown = run_on_tty(["render", str(shop), "-o", str(tmp_path / "b"), "--quiet"], tmp_path, fast)
    assert (code, shown) == (0, "")
    code, shown = run_on_tty(["validate", str(tmp_path / "a")], tmp_path, fast)
    assert code == 0 and "validating" in shown
    code, shown = run_on_tty(["validate", str(tmp_path / "a")], tmp_path, {**fast, "PRE_COMMIT": "1"})
    assert code == 0 and "validating" not in shown and "\x1b[?25l" not in shown  # no bar, no hidden cursor
    piped = subprocess.run(
        [sys.executable, "-m", "manifestkit", "render", str(shop), "-o", str(tmp_path / "c")],
        capture_output=True,
        text=True,
        env={**os.environ, **fast, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    # Not a terminal: no bar; the summary line first, then the lint findings on the output (warnings here).
    assert piped.stdout == ""
    assert piped.stderr.splitlines()[0] == f"manifestkit: 18 written, 0 unchanged, 0 removed in {tmp_path / 'c'}"
    assert all("warning [MK" in line or line.startswith("  hint:") for line in piped.stderr.splitlines()[1:])


def _complete(line: str, cwd: Path) -> list[str]:
    """What bash offers for ``line`` (completing its last word), with the generated script sourced."""
    script = cmd_completion.bash(cmd_completion.commands(build_parser()))
    words = line.split(" ")
    program = (f"{script}\nCOMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}; "
               "_manifestkit; printf '%s\\n' \"${COMPREPLY[@]}\"")
    done = subprocess.run(["bash", "--norc", "-c", program], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_bash_completes_commands_flags_choices_and_files(tmp_path: Path) -> None:
    (tmp_path / "manifestkit.yaml").write_text("")
    assert _complete("manifestkit r", tmp_path) == ["render", "rules"]
    assert _complete("manifestkit render --for", tmp_path) == ["--format", "--force"]
    assert _complete("manifestkit render --format ", tmp_path) == ["helm", "kustomize", "plain"]
    assert _complete("manifestkit validate --output s", tmp_path) == ["sarif"]
    assert _complete("manifestkit render manif", tmp_path) == ["manifestkit.yaml"]
    assert _complete("manifestkit completion ", tmp_path) == ["bash", "fish", "zsh"]
    assert _complete("manifestkit argocd-plugin g", tmp_path) == ["generate"]
    assert "diff" in _complete("manifestkit ", tmp_path)


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_are_accepted(shell: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    binary = shutil.which(shell)
    if shell == "fish":
        assert (
            "complete -c manifestkit -n '__fish_seen_subcommand_from render' -l format -s f -x -a 'helm kustomize "
            "plain'"
            in script
        )
    else:
        assert "bashcompinit" in script and "complete -o filenames -F _manifestkit manifestkit" in script
    if binary:
        subprocess.run([binary, "-n" if shell == "zsh" else "--no-execute", "-c", script], check=True)


def test_patterns_lists_and_shows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["patterns"]) == 0
    listing = capsys.readouterr().out
    assert "init/wait-for" in listing and "vault/agent" in listing
    assert main(["patterns", "init/wait-for"]) == 0
    assert capsys.readouterr().out == (
        "init/wait-for (may repeat): adds an init container\n\n"
        "with: (JSON Schema https://manifestkit.dev/schemas/patterns/init-wait-for.schema.json)\n"
        "  host (string, required)\n  port (port, required)\n"
        "  timeout (integer, optional) [default 300]: seconds before the pod fails\n"
        "  image (nonEmptyString, optional) [default 'busybox:1.36']\n\n"
        "example (an App's spec):\n  patterns:\n  - use: init/wait-for\n    with:\n      host: example\n      port: "
        "8080\n\n"
        "see docs/patterns.md for what it adds to the pod\n"
    )
    assert main(["patterns", "sidcar"]) == 2
    assert capsys.readouterr().err.startswith(
        "manifestkit: error: unknown pattern 'sidcar'; expected one of: adapter, "
    )


def test_every_pattern_example_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    from manifestkit.cmd_patterns import example_params
    from manifestkit.patterns import PATTERNS
    from manifestkit.patterns.engine import checked_params, schema_of

    for pattern in PATTERNS.values():
        checked_params(pattern, example_params(schema_of(pattern)))


def test_rules_lists_and_shows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    assert capsys.readouterr().out.startswith("MK001  selector-labels        error    workload selector does not match")
    assert main(["rules", "privileged"]) == 0
    assert capsys.readouterr().out == (
        "MK009 privileged: privileged or SYS_ADMIN outside an init container\nseverity: error\nby default: on\n"
        "docs: docs/rules.md#mk009-privileged\n"
        "silence one object with the annotation manifestkit.dev/ignore: MK009, or the rule with lint.disable in "
        ".manifestkit.yaml\n"
    )
    assert main(["rules", "MK999"]) == 2
    last = max(RULES)
    assert capsys.readouterr().err == (
        f"manifestkit: error: unknown rule 'MK999'; expected an id (MK001 to {last}) or a name\n"
        f"  hint: {did_you_mean('MK999', [*sorted(RULES), *(r.name for r in RULES.values())])}\n"
    )
