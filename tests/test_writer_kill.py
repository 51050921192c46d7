"""kill -9 at random moments of real renders: every file stays old or new, the ledger stays true,
and the next render cleans up and finishes the job."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from manifestkit.cli import main
from manifestkit.writer import LEDGER
from manifestkit.writer.disk import TEMP_PREFIX
from manifestkit.writer.ledger import digest, identity

from .conftest import EXAMPLES, ROOT

SEED = 20261201
FORKED_KILLS = 20
EXEC_KILLS = 2   # through `python -m manifestkit.cli`: slower to start, so fewer


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def two_versions(root: Path) -> tuple[Path, Path]:
    """examples/shop with a Secret (a private file), and a version where every file changes and
    one app (two files) is gone."""
    a, b = root / "a", root / "b"
    for name, project in (("a", a), ("b", b)):
        shutil.copytree(EXAMPLES / "shop", project)
        with (project / "apps" / "web.yaml").open("a") as web:
            web.write(f"  secrets:\n    web-extra: {{stringData: {{token: value-{name}}}}}\n")
    (b / "apps" / "cleanup.yaml").unlink()
    for env in ("dev", "prod"):
        overlay = b / "overlays" / f"{env}.yaml"
        overlay.write_text(
            overlay.read_text().replace(f"labels: {{env: {env}}}", f"labels: {{env: {env}, revision: b}}")
        )
    return a, b


Started = tuple[int, Callable[[], int | None]]   # pid, and a poll: its exit code once it ended


def start_forked(project: Path, out: Path) -> Started:
    """A real render in a child process, forked from this one, so it skips Python's start-up."""
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            code = main(["render", str(project), "-o", str(out)])
        finally:
            os._exit(code)
    ended: list[int] = []

    def poll() -> int | None:
        if not ended:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                ended.append(os.waitstatus_to_exitcode(status))
        return ended[0] if ended else None
    return pid, poll


def start_exec(project: Path, out: Path) -> Started:
    """`python -m manifestkit.cli render` from scratch."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "manifestkit.cli", "render", str(project), "-o", str(out)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc.pid, proc.poll


def ledger_id(out: Path) -> tuple[int, int]:
    try:
        info = os.stat(out / LEDGER)
    except FileNotFoundError:
        return (0, 0)
    return (info.st_ino, info.st_mtime_ns)


def run_and_kill(start: Callable[[Path, Path], Started], project: Path, out: Path, delay: float) -> None:
    """Start a render; once it starts writing (its first ledger lands), wait ``delay`` and SIGKILL it."""
    pid, poll = _started_writing(start, project, out)
    time.sleep(delay)
    if poll() is None:
        os.kill(pid, signal.SIGKILL)
    while poll() is None:
        time.sleep(0.001)


def _started_writing(start: Callable[[Path, Path], Started], project: Path, out: Path) -> Started:
    before = ledger_id(out)
    pid, poll = start(project, out)
    deadline = time.monotonic() + 60
    while ledger_id(out) == before and poll() is None and time.monotonic() < deadline:
        time.sleep(0.0002)
    return pid, poll


def assert_consistent(out: Path, versions: dict[str, dict[str, bytes]]) -> None:
    """Each file old or new; the ledger vouches for every file of ours and for no other bytes."""
    ledger = json.loads((out / LEDGER).read_text())
    digests = {rel: {value} if isinstance(value, str) else set(value) for rel, value in ledger.items()}
    for rel, data in tree(out).items():
        if rel == LEDGER or rel.rpartition("/")[2].startswith(TEMP_PREFIX):
            continue
        assert data in {v[rel] for v in versions.values() if rel in v}, f"{rel}: neither old nor new bytes"
        marks = {digest(data), identity(os.lstat(out / rel))}
        assert marks & digests.get(rel, set()), f"{rel}: written by manifestkit, yet the ledger does not vouch for it"
    for rel in digests:
        assert rel in versions["a"] or rel in versions["b"], f"the ledger claims {rel}, which no render makes"


def assert_finished(out: Path, want: dict[str, bytes]) -> None:
    got = tree(out)
    assert {rel: data for rel, data in got.items() if rel != LEDGER} == want, "no temp file left, every file new"
    assert set(json.loads(got[LEDGER])) == set(want)


def test_kill_9_at_random_moments(tmp_path: Path) -> None:
    a, b = two_versions(tmp_path)
    versions = {}
    for name, project in (("a", a), ("b", b)):
        assert main(["render", str(project), "-o", str(tmp_path / f"want-{name}")]) == 0
        versions[name] = {rel: data for rel, data in tree(tmp_path / f"want-{name}").items() if rel != LEDGER}
    assert (
        all(versions["a"][rel] != versions["b"][rel] for rel in versions["b"])
        and len(versions["a"]) == len(versions["b"]) + 2
    )
    out = tmp_path / "out"
    assert main(["render", str(a), "-o", str(out)]) == 0
    rng = random.Random(SEED)
    started = time.monotonic()
    # How long a write takes once its first ledger lands: kills spread over that window (some land after the end).
    window = _write_time(b, out)
    assert main(["render", str(a), "-o", str(out)]) == 0
    for step in range(FORKED_KILLS + EXEC_KILLS):
        project, name = (b, "b") if step % 2 == 0 else (a, "a")
        run_and_kill(start_forked if step < FORKED_KILLS else start_exec, project, out, rng.uniform(0, window))
        assert_consistent(out, versions)
        if step % 5 == 4:   # now and then a render that runs to the end cleans up after the killed ones
            assert main(["render", str(project), "-o", str(out)]) == 0
            assert_finished(out, versions[name])
    assert main(["render", str(b), "-o", str(out)]) == 0
    assert_finished(out, versions["b"])
    assert time.monotonic() - started < 120


def _write_time(project: Path, out: Path) -> float:
    """Seconds from a render's first ledger to its end."""
    _, poll = _started_writing(start_forked, project, out)
    landed = time.monotonic()
    while poll() is None:
        time.sleep(0.0002)
    return max(time.monotonic() - landed, 0.005)
