"""The writer as a good citizen: no way out of the output folder, no write through a link, no
folder replaced, untouched files untouched, modes from the umask, foreign files refused, one
render at a time."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from manifestkit.cli import main
from manifestkit.diagnostics import ManifestkitError
from manifestkit.writer import LEDGER, OutFile, check_tree, write_tree
from manifestkit.writer.lock import folder_lock

from .conftest import EXAMPLES, ROOT

SHOP = EXAMPLES / "shop"
SERVICE = "dev/shop-dev/service-web.yaml"
NAME_RULE = "expected a Kubernetes name: not '.' or '..', without '/', '%' or control characters"
KIND_RULE = "expected a Kubernetes kind: a letter, then letters and digits"

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: x, namespace: t}
spec:
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec: {containers: [{name: x, image: "nginx:1.25"}]}
"""


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def everything(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def base_project(root: Path, extra: str) -> Path:
    """A project whose App starts from a base manifest holding ``extra`` beside its Deployment."""
    files = {
        "manifestkit.yaml": "apiVersion: manifestkit.dev/v1alpha1\nkind: Project\nmetadata: {name: t}\nspec: "
                            "{apps: [apps/*.yaml]}\n",
        "apps/x.yaml": "apiVersion: manifestkit.dev/v1alpha1\nkind: App\nmetadata: {name: x, namespace: t}\n"
        "spec: {base: ../manifests/base.yaml}\n",
        "manifests/base.yaml": f"{DEPLOYMENT}---\n{extra}",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


NAMED_OUT = f"manifests/base.yaml:12:12: error: metadata.name: ConfigMap/t/../../..: found '../../..'; {NAME_RULE}\n"
# Helm names its templates itself: there the writer's own check of every path catches it.
HELM_OUT = ("out: error: output path 'charts/x/templates/configmap-../../...yaml': found the component '..'; "
            "expected names joined by '/', none of them empty, '.' or '..'\n")


@pytest.mark.parametrize(("fmt", "no_validate", "err"), [("plain", False, NAMED_OUT), ("plain", True, NAMED_OUT),
                                                         ("kustomize", True, NAMED_OUT), ("helm", False, HELM_OUT)])
def test_object_named_dot_dot_cannot_leave_the_folder(
    tmp_path: Path,
    fmt: str,
    no_validate: bool,
    err: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = base_project(
        tmp_path / "a" / "b" / "p", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ../../.., namespace: t}\n"
    )
    monkeypatch.chdir(project)
    before = everything(tmp_path)
    assert main(["render", ".", "-o", "out", "-f", fmt, *(["--no-validate"] if no_validate else [])]) == 2
    assert capsys.readouterr().err == err
    assert everything(tmp_path) == before, "nothing is written anywhere"


def test_kind_holding_slash_dot_dot_with_no_validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    project = base_project(tmp_path / "p", "apiVersion: v1\nkind: Config/..\nmetadata: {name: x, namespace: t}\n")
    monkeypatch.chdir(project)
    assert main(["render", ".", "-o", "out", "--no-validate", "--no-lint"]) == 2
    assert (
        capsys.readouterr().err
        == f"manifests/base.yaml:11:1: error: kind: Config/../t/x: found 'Config/..'; {KIND_RULE}\n"
    )
    assert not (project / "out").exists()


@pytest.mark.parametrize(("rel", "found"), [
    ("../x.yaml", "the component '..'"),
    ("a/../../x.yaml", "the component '..'"),
    ("./x.yaml", "the component '.'"),
    ("a//x.yaml", "the component ''"),
    ("a/", "the component ''"),
    ("/etc/x.yaml", "an absolute path"),
    ("a/x\0.yaml", "a NUL character"),
    (LEDGER, "a name manifestkit keeps for itself"),
    ("a/.manifestkit-tmp-1234", "a name manifestkit keeps for itself"),
])
def test_unsafe_output_paths_are_refused(tmp_path: Path, rel: str, found: str) -> None:
    out = tmp_path / "out"
    with pytest.raises(ManifestkitError) as exc:
        write_tree(out, {"ok.yaml": OutFile(b"ok\n"), rel: OutFile(b"x\n")})
    assert (
        str(exc.value)
        == f"{out}: error: output path {rel!r}: found {found}; expected names joined by '/', none of them empty, '.' "
           f"or '..'"
    )
    assert everything(tmp_path) == []


def test_symlinked_subfolder_is_never_written_through(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, victim = tmp_path / "out", tmp_path / "victim"
    assert main(["render", str(SHOP), "-o", str(out), "--no-lint"]) == 0
    shutil.copytree(out / "dev", victim)
    for path in victim.rglob("*.yaml"):
        path.write_text("victim's own\n")
    shutil.rmtree(out / "dev")
    (out / "dev").symlink_to("../victim")
    capsys.readouterr()
    for more in ([], ["--force"]):
        assert main(["render", str(SHOP), "-o", str(out), *more, "--no-lint"]) == 2
        assert capsys.readouterr().err == (
            f"{out / 'dev'}: error: found a symbolic link; expected a folder (manifestkit never writes through links)\n"
            "  hint: replace the link with a real folder, or render to another folder\n"
        )
    assert {p.read_text() for p in victim.rglob("*.yaml")} == {"victim's own\n"}
    assert main(["render", str(SHOP), "-o", str(out), "--env", "prod", "--no-lint"]) == 0, (
        "the other environment is still written"
    )
    assert {p.read_text() for p in victim.rglob("*.yaml")} == {"victim's own\n"}, (
        "stale files are not removed through the link"
    )


@pytest.mark.parametrize("make", ["link", "folder", "fifo"])
def test_something_else_where_a_file_goes(tmp_path: Path, make: str, capsys: pytest.CaptureFixture[str]) -> None:
    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    victim.write_text("victim\n")
    assert main(["render", str(SHOP), "-o", str(out), "--no-lint"]) == 0
    (out / SERVICE).unlink()
    {"link": lambda p: p.symlink_to(victim), "folder": Path.mkdir, "fifo": os.mkfifo}[make](out / SERVICE)
    before = tree(out)
    capsys.readouterr()
    assert main(["render", str(SHOP), "-o", str(out), "--force", "--no-lint"]) == 2
    found = {"link": "a symbolic link; expected a file (manifestkit never writes through links)",
             "folder": "a folder; expected a file manifestkit writes", "fifo": "a named pipe; expected a file"}[make]
    assert capsys.readouterr().err.splitlines()[0] == f"{out / SERVICE}: error: found {found}"
    assert victim.read_text() == "victim\n"
    assert tree(out) == before, "nothing is written when any path is refused"


@pytest.mark.parametrize("make", ["file", "fifo", "link to a folder"])
def test_output_that_is_not_a_folder_is_an_error(tmp_path: Path, make: str, capsys: pytest.CaptureFixture[str]) -> None:
    target, folder = tmp_path / "target", tmp_path / "folder"
    folder.mkdir()
    makers: dict[str, Callable[[Path], object]] = {
        "file": lambda p: p.write_text("keep me\n"),
        "fifo": os.mkfifo,
        "link to a folder": lambda p: p.symlink_to(folder),
    }
    makers[make](target)
    before = os.lstat(target)
    assert main(["render", str(SHOP), "-o", str(target), "--no-lint"]) == 2
    kind = {"file": "a file", "fifo": "a named pipe", "link to a folder": "a symbolic link"}[make]
    assert capsys.readouterr().err == (
        f"{target}: error: found {kind}; expected a folder to write the output into (nothing was written)\n"
        "  hint: pass -o a folder, or a path where one can be made\n"
    )
    after = os.lstat(target)
    assert (after.st_ino, after.st_mode, after.st_mtime_ns) == (before.st_ino, before.st_mode, before.st_mtime_ns)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "target"] and not any(folder.iterdir())
    with pytest.raises(ManifestkitError):
        check_tree(target, {"a.yaml": OutFile(b"a\n")})


def test_output_is_the_project_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "shop"
    shutil.copytree(SHOP, project)
    monkeypatch.chdir(project)
    sources = tree(project)
    inode = os.stat(".").st_ino
    assert main(["render", ".", "-o", ".", "--no-lint"]) == 0
    assert os.getcwd() == str(project) and os.stat(".").st_ino == inode, "the caller's working folder is never replaced"
    assert main(["render", ".", "-o", ".", "--no-lint"]) == 0
    assert capsys.readouterr().err.splitlines()[-1] == "manifestkit: 0 written, 18 unchanged, 0 removed in ."
    assert {rel: data for rel, data in tree(project).items() if rel in sources} == sources
    assert (project / "dev" / "shop-dev" / "deployment-web.yaml").is_file()


def test_unchanged_files_keep_inode_and_mtime(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["render", str(SHOP), "-o", str(out), "--no-lint"]) == 0
    stats = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in [out, *out.rglob("*")]}
    assert main(["render", str(SHOP), "-o", str(out), "--no-lint"]) == 0
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in [out, *out.rglob("*")]} == stats


@pytest.mark.parametrize(
    ("mask", "file_mode", "folder_mode"), [(0o002, 0o664, 0o775), (0o022, 0o644, 0o755), (0o077, 0o600, 0o700)]
)
def test_modes_follow_the_umask_and_secrets_stay_0600(
    tmp_path: Path, mask: int, file_mode: int, folder_mode: int, umask: None
) -> None:
    os.umask(mask)
    out = tmp_path / "out"
    write_tree(
        out,
        {
            "ns/cm.yaml": OutFile(b"c\n"),
            "ns/secret-s.yaml": OutFile(b"s\n", 0o600),
            "legacy.yaml": OutFile(b"l\n", 0o644),
        },
    )
    modes = {p.relative_to(out).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in [out, *out.rglob("*")]}
    assert modes == {".": folder_mode, "ns": folder_mode, "ns/cm.yaml": file_mode, "ns/secret-s.yaml": 0o600,
                     "legacy.yaml": file_mode, LEDGER: file_mode}


def test_a_secret_readable_by_others_is_rewritten_even_when_unchanged(tmp_path: Path, umask: None) -> None:
    out = tmp_path / "out"
    write_tree(out, {"secret-s.yaml": OutFile(b"s\n", 0o600)})
    (out / "secret-s.yaml").chmod(0o644)
    assert write_tree(out, {"secret-s.yaml": OutFile(b"s\n", 0o600)}).written == ("secret-s.yaml",)
    assert stat.S_IMODE((out / "secret-s.yaml").stat().st_mode) == 0o600


def test_foreign_file_is_refused_unless_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    (out / SERVICE).parent.mkdir(parents=True)
    (out / SERVICE).write_text("mine\n")
    assert main(["render", str(SHOP), "-o", str(out), "--no-lint"]) == 2
    assert capsys.readouterr().err == (
        f"{out / SERVICE}: error: found a file manifestkit did not write; refusing to overwrite it\n"
        "  hint: move it away, or render with --force to overwrite it\n"
    )
    assert everything(out) == ["dev", "dev/shop-dev", SERVICE], "nothing else is written either"
    assert main(["render", str(SHOP), "-o", str(out), "--force", "--no-lint"]) == 0
    assert (out / SERVICE).read_text() != "mine\n"
    capsys.readouterr()
    assert main(["render", str(SHOP), "-o", str(out), "--no-lint"]) == 0, "once written, the file is manifestkit's"
    assert capsys.readouterr().err == f"manifestkit: 0 written, 18 unchanged, 0 removed in {out}\n"


def test_stale_removals_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project, out = tmp_path / "shop", tmp_path / "out"
    shutil.copytree(SHOP, project)
    assert main(["render", str(project), "-o", str(out), "--no-lint"]) == 0
    (project / "apps" / "cleanup.yaml").unlink()
    capsys.readouterr()
    assert main(["render", str(project), "-o", str(out), "--no-lint"]) == 0
    gone = [f"{env}/shop-{env}/cronjob-cleanup.yaml" for env in ("dev", "prod")]
    assert capsys.readouterr().err == "".join(f"manifestkit: removed {out / rel}\n" for rel in gone) + \
        f"manifestkit: 0 written, 16 unchanged, 2 removed in {out}\n"
    assert not any((out / rel).exists() for rel in gone)


def test_a_held_lock_makes_a_second_write_wait_then_fail(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with folder_lock(fd, out), pytest.raises(ManifestkitError) as exc:
            write_tree(out, {"a.yaml": OutFile(b"a\n")}, lock_timeout=0.2)
    finally:
        os.close(fd)
    assert str(exc.value) == (
        f"{out}: error: the output folder is locked by another manifestkit render (pid {os.getpid()}); waited 0.2s\n"
        "  hint: wait for that render to finish, then render again"
    )
    assert everything(out) == [], "the lock leaves no file behind"
    assert write_tree(out, {"a.yaml": OutFile(b"a\n")}, lock_timeout=0.2).written == ("a.yaml",), (
        "released with its holder"
    )


def test_two_concurrent_renders_into_one_folder_keep_both(tmp_path: Path) -> None:
    """`--env dev` and `--env prod` at once (real processes): without the lock, one ledger lost the other's files."""
    out, whole = tmp_path / "out", tmp_path / "whole"
    assert main(["render", str(SHOP), "-o", str(whole), "--no-lint"]) == 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    renders = [
        subprocess.Popen(
            [sys.executable, "-m", "manifestkit.cli", "render", str(SHOP), "-o", str(out), "--env", name],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("dev", "prod")
    ]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in renders]
    assert [rc for rc, _ in results] == [0, 0], results
    assert tree(out) == tree(whole)
    assert main(["render", str(SHOP), "-o", str(out), "--check", "--no-lint"]) == 0


@pytest.fixture
def nobody_base() -> Iterator[Path]:
    """A folder everyone may enter (pytest's own tmp folders are the owner's only)."""
    base = Path(tempfile.mkdtemp(prefix="manifestkit-nobody-"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to another user")
def test_setuid_nobody_read_only_folder_gives_a_located_error(nobody_base: Path) -> None:
    """A real EACCES: root ignores modes, so the writer runs in a forked process as uid 65534,
    in a folder nobody owns holding a subfolder that stays root's."""
    out = nobody_base / "out"
    old = {"b.yaml": OutFile(b"old b\n"), "ns/a.yaml": OutFile(b"old a\n")}
    new = {"b.yaml": OutFile(b"new b\n"), "ns/a.yaml": OutFile(b"new a\n")}
    write_tree(out, old)
    for path in (out, out / LEDGER, out / "b.yaml"):
        os.chown(path, 65534, 65534)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: never returns into pytest
        code = 70
        try:
            os.setgid(65534)
            os.setuid(65534)
            write_tree(out, new)
            code = 0
        except ManifestkitError as exc:
            os.write(write_end, str(exc).encode())
            code = exc.exit_code
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        message = pipe.read().decode()
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 2
    assert message == (
        f"{out / 'ns/a.yaml'}: error: cannot write: Permission denied (EACCES); files already written are whole, "
        "the rest untouched\n  hint: check who may write to the folder, or render to another one"
    )
    got = tree(out)
    assert (got["b.yaml"], got["ns/a.yaml"]) == (b"old b\n", b"old a\n"), "staging failed before any rename: all old"
    assert sorted(got) == [LEDGER, "b.yaml", "ns/a.yaml"], "no temp file is left"
    assert write_tree(out, new).written == ("b.yaml", "ns/a.yaml"), "root finishes the job"
