"""Mutated copies of the shipped examples, run through the real CLI in-process: the fuzz harness
behind tests/test_fuzz.py (bounded, in every run) and bench/fuzz.py (the large run).

A case fails on exit 3, a traceback, a file written outside the output folder, output left
behind by a failed command, or taking more than 10 s.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import random
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from manifestkit.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SLOW = 10   # seconds: issue 11 point 14 found three inputs over this; none may be again

# (command, seed project or file under examples/, files that may be mutated)
SEEDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("render", "shop", ("manifestkit.yaml", "apps/web.yaml", "apps/api.yaml", "overlays/prod.yaml",
                        "overlays/dev.yaml", "templates/default.conf.j2")),
    ("render", "http-echo", ("apps/demoapp.yaml", "manifests/demoapp.yaml")),
    ("render", "elasticsearch", ("apps/elasticsearch.yaml",)),
    ("render", "seed-000-nginx", ("application.yaml", "files/index.html.j2")),
    ("validate", "http-echo", ("manifests/demoapp.yaml",)),
    ("validate", "microservices-demo", ("manifests/frontend.yaml", "manifests/cartservice.yaml")),
    ("inject", "http-echo", ("manifests/demoapp.yaml",)),
    ("inject", "microservices-demo", ("manifests/adservice.yaml",)),
    ("diff", "shop", ("apps/web.yaml", "overlays/prod.yaml")),
)

VALUES = ("[]", "{}", "null", "~", "3", "-1", "1e400", '"x"', "true", "no", "2024-01-01", "2024-01-01T10:00:00Z",
          "!!binary aGk=", "{a: [1]}", "'0755'", "1e3", "- a", "*undefined", "&a x", "!!set {a}", "!!omap [a: 1]",
          "|\n  block", "{{ values.x }}", "\"\\u0000\"", "0x1F", "..", "../../etc/passwd", "/..",
          # secret references a hostile project might plant
          "ref+env://HOME", "ref+file://../../etc/passwd", "ref+file:///etc/hostname", "ref+vault://secret/data/x",
          "ref+vault://secret/data/x#/k", "ref+sops://missing.yaml#/k", "<path:secret/data/x#k>", "ref+nope://x")
TAGS = ("!!int", "!!str", "!!float", "!!bool", "!!null", "!!map", "!!seq", "!foo", "!!timestamp", "!!binary")


def _lines(data: bytes, rng: random.Random) -> tuple[list[bytes], int]:
    lines = data.split(b"\n")
    return lines, rng.randrange(len(lines))


def retype(data: bytes, rng: random.Random) -> bytes:
    lines, i = _lines(data, rng)
    head, sep, _ = lines[i].partition(b": ")
    if sep:
        lines[i] = head + sep + rng.choice(VALUES).encode()
    return b"\n".join(lines)


def tag(data: bytes, rng: random.Random) -> bytes:
    lines, i = _lines(data, rng)
    head, sep, tail = lines[i].partition(b": ")
    if sep:
        lines[i] = head + sep + rng.choice(TAGS).encode() + b" " + tail
    return b"\n".join(lines)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def tab(data: bytes, rng: random.Random) -> bytes:
    lines, i = _lines(data, rng)
    lines[i] = b"\t" + lines[i].lstrip(b" ")
    return b"\n".join(lines)


def nest(data: bytes, rng: random.Random) -> bytes:
    depth = rng.choice((30, 99, 101, 400, 2000))
    lines, i = _lines(data, rng)
    head, sep, _ = lines[i].partition(b": ")
    if sep:
        lines[i] = head + sep + b"[" * depth + b"]" * depth
    return b"\n".join(lines)


def bad_bytes(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice((b"\xff\xfe", b"\x00", b"\xc3", b"\xed\xa0\x80", b"\x1b[31m")) + data[at:]


def bom(data: bytes, rng: random.Random) -> bytes:
    return b"\xef\xbb\xbf" + data


def crlf(data: bytes, rng: random.Random) -> bytes:
    return data.replace(b"\n", b"\r\n")


def drop_line(data: bytes, rng: random.Random) -> bytes:
    lines, i = _lines(data, rng)
    return b"\n".join(lines[:i] + lines[i + 1:])


def double_line(data: bytes, rng: random.Random) -> bytes:
    lines, i = _lines(data, rng)
    return b"\n".join(lines[: i + 1] + lines[i:])


def indent(data: bytes, rng: random.Random) -> bytes:
    lines, i = _lines(data, rng)
    lines[i] = b"  " + lines[i] if rng.random() < 0.5 else lines[i][2:]
    return b"\n".join(lines)


def rename_key(data: bytes, rng: random.Random) -> bytes:
    lines, i = _lines(data, rng)
    head, sep, tail = lines[i].partition(b":")
    if sep:
        lines[i] = head + rng.choice((b"x", b"s", b"_", b"-", b".")) + sep + tail
    return b"\n".join(lines)


def splice(data: bytes, rng: random.Random) -> bytes:
    """Move a random slice of lines elsewhere: structure from one place lands in another."""
    lines = data.split(b"\n")
    a, b = sorted(rng.randrange(len(lines) + 1) for _ in range(2))
    chunk, rest = lines[a:b], lines[:a] + lines[b:]
    at = rng.randrange(len(rest) + 1)
    return b"\n".join(rest[:at] + chunk + rest[at:])


MUTATIONS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    f.__name__: f for f in (retype, tag, truncate, tab, nest, bad_bytes, bom, crlf, drop_line, double_line, indent,
                            rename_key, splice)
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    case: str
    code: int
    problems: tuple[str, ...]   # empty when the case held


def _snapshot(root: Path, skip: Path) -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_relative_to(skip):
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@contextlib.contextmanager
def _captured() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        yield out, err


def argv_for(command: str, project: Path, mutated: Path, out: Path) -> list[str]:
    if command == "render":
        return ["render", str(project if (project / "manifestkit.yaml").exists() else mutated), "-o", str(out)]
    if command == "diff":
        return ["diff", str(project), "-o", str(out)]
    if command == "validate":
        return ["validate", str(mutated), "--strict"]
    return ["inject", "--pattern", "sidecar/envoy", str(mutated)]


def run_case(work: Path, seed: int, case: int) -> Outcome:
    """One mutated example through one command, in a fresh folder under ``work``."""
    rng = random.Random(seed * 1_000_003 + case)
    command, example, files = rng.choice(SEEDS)
    name = rng.choice(files)
    mutation_names = rng.sample(sorted(MUTATIONS), rng.choice((1, 1, 2, 3)))
    label = f"seed={seed} case={case}: {command} {example}/{name} {'+'.join(mutation_names)}"
    root = work / f"case-{case}"
    project = root / "project"
    shutil.copytree(EXAMPLES / example, project, ignore=shutil.ignore_patterns("expected"))
    target = project / name
    data = target.read_bytes()
    for mutation in mutation_names:
        data = MUTATIONS[mutation](data, rng) if data else data
    target.write_bytes(data)
    out = root / "out"
    before = _snapshot(work.parent, out)
    started = time.monotonic()
    with _captured() as (_, err):
        try:
            code = main(argv_for(command, project, target, out))
        except SystemExit as exc:   # argparse
            code = int(exc.code or 0)
    took = time.monotonic() - started
    problems = []
    if took > SLOW:
        problems.append(f"took {took:.0f} s (more than {SLOW} s)")
    if code == 3:
        problems.append("exit 3 (internal error)")
    if "Traceback" in err.getvalue():
        problems.append("traceback printed")
    if _snapshot(work.parent, out) != before:
        problems.append("a file outside the output folder changed")
    if code not in (0, 1) and out.exists() and any(out.rglob("*")):
        problems.append("output left behind by a failed command")
    shutil.rmtree(root, ignore_errors=True)
    return Outcome(case=label, code=code, problems=tuple(problems))
