"""`manifestkit inject --pattern NAME[=k=v,...] FILE...`: apply patterns to existing
manifests; print the result (or `-o FILE`), or with `--emit patch` one JSON line per
changed object: ``{"kind", "namespace", "name", "patch": [RFC 6902 operations]}``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from manifestkit.command import Command
from manifestkit.diagnostics import Diagnostic, ManifestkitError, gather
from manifestkit.model import DEFAULT_KUBE_VERSION
from manifestkit.patterns.engine import PatternProblems, Use, checked_params, lookup
from manifestkit.patterns.inject import Change, inject
from manifestkit.patterns.model import Pattern
from manifestkit.patterns.patch import creation, diff
from manifestkit.patterns.user import registry
from manifestkit.yaml_dump import dump_all
from manifestkit.yamlio import Document, load_documents, load_file

RESERVED = ("native", "name")   # keys of --pattern that are not `with:` parameters


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="manifests (multi-document YAML); - reads stdin")
    parser.add_argument("-p", "--pattern", action="append", required=True, metavar="NAME[=k=v,...]",
                        help="pattern to apply (repeatable, applied in order); values are YAML, "
                             "e.g. init/sysctl=sysctls={vm.max_map_count: 262144}; native=true makes a native sidecar")
    parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    parser.add_argument("--emit", choices=("yaml", "patch"), default="yaml",
                        help="yaml: the manifests; patch: one JSON line of RFC 6902 operations per changed object")
    parser.add_argument("-k", "--kube-version", default=DEFAULT_KUBE_VERSION, metavar="X.Y",
                        help=f"target Kubernetes version (default {DEFAULT_KUBE_VERSION}; native sidecars need 1.29+)")
    parser.add_argument("--patterns-dir", default="patterns", metavar="DIR",
                        help="folder of your own YAML patterns (default: ./patterns, when it exists)")


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    known = registry(Path(args.patterns_dir))
    uses = gather(args.pattern, lambda text: [parse_pattern(text, known)])
    documents = gather(args.files, _read)
    changes = inject(documents, uses, args.kube_version, known)
    text = patch_lines(changes) if args.emit == "patch" else dump_all(c.after for c in changes)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _read(file: str) -> list[Document]:
    return load_documents(sys.stdin.read(), "<stdin>") if file == "-" else load_file(file)


def parse_pattern(text: str, known: Mapping[str, Pattern]) -> Use:
    """``NAME[=k=v,...]`` → a checked Use; every problem names the argument."""
    where = f"--pattern {text}"
    name, _, rest = text.partition("=")
    values: dict[str, Any] = {}
    for item in split_top(rest) if rest else []:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ManifestkitError([Diagnostic(message=f"found {item!r}; expected key=value", file=where)])
        values[key.strip()] = _scalar(value, where)
    use = Use(name, {k: v for k, v in values.items() if k not in RESERVED}, bool(values.get("native", False)),
              values.get("name"))
    try:
        checked_params(lookup(name, known), use.params)
    except PatternProblems as exc:
        raise ManifestkitError([Diagnostic(message=p.message, file=where, hint=p.hint) for p in exc.problems]) from None
    return use


# YAML 1.1 reads these as booleans; on a command line they are words (logLevel=off).
WORDS = frozenset({"y", "n", "yes", "no", "on", "off"})


def _scalar(value: str, where: str) -> Any:
    """A YAML value (`8080` → int, `{a: 1}` → map); YAML 1.1's yes/no/on/off words stay strings."""
    if value.strip().lower() in WORDS:
        return value.strip()
    docs = load_documents(value, where) if value.strip() else []
    return docs[0].data if docs else None


def split_top(text: str) -> list[str]:
    """Split on commas outside brackets, braces and quotes: ``a=1,b={x: 1, y: 2}`` → 2 items."""
    items, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [item for item in items if item.strip()]


def patch_lines(changes: Sequence[Change]) -> str:
    """One JSON line per changed or generated object."""
    lines = []
    for change in changes:
        if not change.changed:
            continue
        obj = change.after
        meta = obj.get("metadata", {})
        ops = diff(change.before, obj) if change.before is not None else creation(obj)
        lines.append(json.dumps({"kind": obj.get("kind"), "namespace": meta.get("namespace"), "name": meta.get("name"),
                                 "patch": ops}, sort_keys=False, separators=(",", ":")))
    return "".join(line + "\n" for line in lines)


COMMAND = Command("apply patterns to existing manifests", configure, run)
