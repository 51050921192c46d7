"""The writer keeps few folder descriptors open: an output of many thousand folders (one per
app and namespace, in the kustomize and helm formats) fits the process's file limit, and a
folder it opens again must be the folder it opened first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from manifestkit import writer
from manifestkit.diagnostics import ManifestkitError
from manifestkit.writer import OutFile, write_tree
from manifestkit.writer import paths as writer_paths

from .conftest import ROOT

MANY_FOLDERS = """
import resource, sys
from pathlib import Path
from manifestkit.writer import OutFile, write_tree
resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
files = {f"app-{i}/ns/x.yaml": OutFile(b"a: 1\\n") for i in range(300)}
write_tree(Path(sys.argv[1]), files)
write_tree(Path(sys.argv[1]), {rel: OutFile(b"a: 2\\n") for rel in list(files)[:150]})   # and 150 stale removals
"""


def test_six_hundred_folders_are_written_under_a_limit_of_64_descriptors(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", MANY_FOLDERS, str(tmp_path / "out")], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("x.yaml"))
    assert written == sorted(f"app-{i}/ns/x.yaml" for i in range(150))
    assert {p.read_text() for p in (tmp_path / "out").rglob("x.yaml")} == {"a: 2\n"}
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir()) == sorted(f"app-{i}" for i in range(150))


def test_a_folder_swapped_for_another_between_staging_and_renaming_stops_the_write(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    monkeypatch.setattr(writer_paths, "FOLDER_FDS", 1)   # every folder's descriptor is closed and opened again

    def swap() -> None:   # runs between staging every file and the first rename
        (out / "a").rename(tmp_path / "a-moved")
        (out / "a").mkdir()

    monkeypatch.setattr(writer, "sync_all", swap)
    with pytest.raises(ManifestkitError) as caught:
        write_tree(out, {"a/x.yaml": OutFile(b"a: 1\n"), "b/y.yaml": OutFile(b"b: 1\n")}, ["."])
    assert caught.value.diagnostics[0].message == (
        "cannot write: the folder was replaced by another during the write (ESTALE); files already written are whole, "
        "the rest untouched")
    assert list((out / "a").iterdir()) == []


@pytest.mark.parametrize(("folders", "syncs", "fsyncs"), [(3, 1, 4 + 4), (40, 2, 0 + 4)])
def test_renames_are_made_durable_per_folder_or_by_one_sync_for_many(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folders: int, syncs: int, fsyncs: int) -> None:
    """A few folders: an fsync of each (and the root); many (a Kustomize tree: a folder per app): one more sync of
    everything after the renames, instead of thousands of fsyncs. The ledger is put twice (interim and final), each
    an fsync of its file and of the root: 4 more. Both calls go through to the system."""
    calls: dict[str, int] = {"sync": 0, "fsync": 0}

    def counted(name: str) -> object:
        real = getattr(os, name)

        def call(*args: int) -> None:
            calls[name] += 1
            real(*args)
        return call

    files = {f"app-{i}/x.yaml": OutFile(b"a: 1\n") for i in range(folders)}
    monkeypatch.setattr(os, "sync", counted("sync"))
    monkeypatch.setattr(os, "fsync", counted("fsync"))
    write_tree(tmp_path / "out", files)
    monkeypatch.undo()
    assert (calls["sync"], calls["fsync"]) == (syncs, fsyncs)
    written = sorted(p.parent.name for p in (tmp_path / "out").rglob("x.yaml"))
    assert written == sorted(f"app-{i}" for i in range(folders))
