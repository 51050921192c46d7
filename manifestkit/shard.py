"""`render --shard I/N`: a stable part of a project's apps, chosen by a hash of each app's name, so a CI matrix of
N jobs renders a monorepo together.

App ``name`` is in shard ``1 + int(sha256(name)[:16], 16) % N``: the same on every machine, in every run and in
every Python (never ``hash()``, which is salted per process); adding or removing an app moves no other app. The
Project's own ``resources:`` (objects of no app) belong to shard 1. Each shard keeps its own ledger in the output
folder (``.manifestkit-files.shard-I-of-N.json``), so it removes only files it wrote itself and never another
shard's. See docs/ci.md for the CI recipe and how the shards are joined.
"""

from __future__ import annotations

import argparse
import hashlib
import re
from dataclasses import dataclass

from manifestkit.diagnostics import Diagnostic, ManifestkitError

SPEC = re.compile(r"([0-9]{1,6})/([0-9]{1,6})")
LEDGER_PREFIX = ".manifestkit-files"


@dataclass(frozen=True, slots=True, kw_only=True)
class Shard:
    """Shard ``index`` of ``count`` (both from 1)."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def has(self, app: str | None) -> bool:
        """Whether the objects of ``app`` (None: the Project's own) are this shard's."""
        return shard_of(app, self.count) == self.index

    @property
    def ledger(self) -> str:
        """The writer's ledger of this shard's files."""
        return f"{LEDGER_PREFIX}.shard-{self.index}-of-{self.count}.json"


def shard_of(app: str | None, count: int) -> int:
    """The shard (from 1) of ``app``'s objects among ``count``."""
    if app is None:
        return 1
    return 1 + int(hashlib.sha256(app.encode("utf-8")).hexdigest()[:16], 16) % count


def parse_shard(text: str) -> Shard:
    """``I/N`` with 1 <= I <= N, or a usage error (exit 2)."""
    found = SPEC.fullmatch(text.strip())
    if found is None:
        raise _bad(text, "expected I/N, two whole numbers such as 1/4")
    index, count = int(found[1]), int(found[2])
    if count < 1:
        raise _bad(text, f"found {count} shards; expected 1 or more")
    if not 1 <= index <= count:
        raise _bad(text, f"found shard {index}; expected a shard from 1 to {count}")
    return Shard(index=index, count=count)


def _bad(text: str, message: str) -> ManifestkitError:
    return ManifestkitError([Diagnostic(message=f"--shard {text!r}: {message}",
                                        hint="run shards 1/N to N/N in N CI jobs, e.g. `manifestkit render "
                                             "--shard 1/4` to `--shard 4/4`")])


def configure_shard(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shard", metavar="I/N",
                        help="render only shard I of N: the apps whose name hashes there (see docs/ci.md)")


def shardable(fmt: str) -> None:
    """Shards split the plain format, one file per object; the other formats write files all apps share."""
    if fmt != "plain":
        raise ManifestkitError([Diagnostic(
            message=f"--shard splits the plain format's files by app; found --format {fmt}, whose files the apps share",
            hint="render --format plain in shards, or render this format in one job")])
