"""`render --shard I/N` (issue 16, point 5): shards are disjoint, stable, and together the unsharded render byte
for byte; each keeps its own ledger, so it never removes another shard's files; `--check` works per shard."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from manifestkit.cli import main
from manifestkit.shard import Shard, shard_of
from manifestkit.writer import LEDGER

from .test_render_cache import tree
from .test_render_pool import many


def render(project: Path, out: Path, *flags: str) -> int:
    return main(["render", str(project), "-o", str(out), "--allow-plaintext-secrets", "--quiet", "--no-lint", *flags])


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_shards_are_disjoint_and_their_union_is_the_whole_render(count: int, tmp_path: Path) -> None:
    project = many(tmp_path / "project", 17)
    assert render(project, tmp_path / "whole") == 0
    whole = tree(tmp_path / "whole")
    parts = []
    for index in range(1, count + 1):
        out = tmp_path / f"shard-{index}"
        assert render(project, out, "--shard", f"{index}/{count}") == 0
        parts.append(tree(out))
        ledger = f".manifestkit-files.shard-{index}-of-{count}.json"
        assert sorted(p.name for p in out.iterdir() if p.is_file()) == [ledger]
    assert sum(len(p) for p in parts) == len(whole), "no file is in two shards"
    assert {rel: data for part in parts for rel, data in part.items()} == whole
    if count > 1:
        assert all(parts), "every shard has apps"


def test_every_shard_renders_into_one_folder_and_keeps_the_others_files(tmp_path: Path) -> None:
    project = many(tmp_path / "project", 17)
    out = tmp_path / "out"
    for index in (1, 2, 3):
        assert render(project, out, "--shard", f"{index}/3") == 0
    assert render(project, tmp_path / "whole") == 0
    assert tree(out) == tree(tmp_path / "whole")
    for index in (1, 2, 3):     # each shard is up to date, and finds nothing stale in the others' files
        assert render(project, out, "--shard", f"{index}/3", "--check") == 0
    assert render(project, out, "--shard", "2/3", "--jobs", "2", "--no-cache") == 0
    assert tree(out) == tree(tmp_path / "whole"), "a shard rendered again writes what it wrote"


def test_a_shard_removes_only_its_own_stale_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = many(tmp_path / "project", 17)
    out = tmp_path / "out"
    for index in (1, 2):
        assert render(project, out, "--shard", f"{index}/2") == 0
    gone = next(i for i in range(17) if shard_of(f"app-{i}", 2) == 1)
    (project / "apps" / f"app-{gone}.yaml").unlink()
    before = tree(out)
    capsys.readouterr()
    assert render(project, out, "--shard", "2/2", "--check") == 0, "shard 2 has nothing to do with it"
    assert render(project, out, "--shard", "1/2", "--check") == 1
    stale = sorted(line for line in capsys.readouterr().out.splitlines())
    assert stale and all(line.startswith("stale: ") and f"-app-{gone}" in line for line in stale)
    assert render(project, out, "--shard", "1/2") == 0
    assert tree(out) == {rel: data for rel, data in before.items() if f"-app-{gone}" not in rel}


def test_an_unsharded_render_takes_over_the_shards_files(tmp_path: Path) -> None:
    project = many(tmp_path / "project", 9)
    out = tmp_path / "out"
    for index in (1, 2):
        assert render(project, out, "--shard", f"{index}/2") == 0
    assert render(project, out) == 0, "the shards' files are manifestkit's to overwrite"
    assert (out / LEDGER).is_file()


def test_a_shard_is_the_hash_of_the_app_name_and_never_changes() -> None:
    """sha256 of the name, not Python's salted hash(): the same on every machine and in every run."""
    assert [shard_of(f"app-{i}", 4) for i in range(12)] == [2, 4, 3, 1, 2, 3, 4, 4, 2, 2, 3, 1]
    assert shard_of(None, 4) == 1, "the Project's own objects are shard 1's"
    assert Shard(index=2, count=4).has("app-0") and not Shard(index=2, count=4).has("app-1")


def test_a_shard_in_another_process_is_the_same(tmp_path: Path) -> None:
    script = "from manifestkit.shard import shard_of; print([shard_of(f'app-{i}', 4) for i in range(12)])"
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONHASHSEED": "12345"})
    assert done.stdout.strip() == "[2, 4, 3, 1, 2, 3, 4, 4, 2, 2, 3, 1]"


@pytest.mark.parametrize(("value", "expected"), [
    ("0/4", "--shard '0/4': found shard 0; expected a shard from 1 to 4"),
    ("5/4", "--shard '5/4': found shard 5; expected a shard from 1 to 4"),
    ("1/0", "--shard '1/0': found 0 shards; expected 1 or more"),
    ("one/4", "--shard 'one/4': expected I/N, two whole numbers such as 1/4"),
    ("1-4", "--shard '1-4': expected I/N, two whole numbers such as 1/4"),
    ("", "--shard '': expected I/N, two whole numbers such as 1/4"),
])
def test_a_bad_shard_is_a_usage_error(value: str, expected: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    project = many(tmp_path / "project", 3)
    assert render(project, tmp_path / "out", "--shard", value) == 2
    assert capsys.readouterr().err == (f"manifestkit: error: {expected}\n"
                                       "  hint: run shards 1/N to N/N in N CI jobs, e.g. `manifestkit render "
                                       "--shard 1/4` to `--shard 4/4`\n")
    assert not (tmp_path / "out").exists()


def test_shards_split_the_plain_format_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = many(tmp_path / "project", 3)
    assert render(project, tmp_path / "out", "--shard", "1/2", "-f", "kustomize") == 2
    assert capsys.readouterr().err == (
        "manifestkit: error: --shard splits the plain format's files by app; found --format kustomize, whose files "
        "the apps share\n  hint: render --format plain in shards, or render this format in one job\n")


def test_a_shard_streams_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = many(tmp_path / "project", 9)
    capsys.readouterr()
    streams = []
    for index in (1, 2):
        assert render(project, Path("-"), "--shard", f"{index}/2") == 0
        streams.append(capsys.readouterr().out)
    assert render(project, Path("-")) == 0
    whole = capsys.readouterr().out
    assert sorted([*streams[0].split("---\n"), *streams[1].split("---\n")]) == sorted(whole.split("---\n"))

