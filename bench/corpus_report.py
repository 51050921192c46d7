"""Run `inject --pattern sidecar/envoy` and `validate` over the corpus and print the counts of issue 13.

Usage: ``python bench/corpus_report.py [CORPUS_DIR] [--pattern NAME] [--json]`` (default
tests/corpus). Per file: validate the input, inject, validate the output; counted are files,
objects, inject crashes (exit 3), refusals (exit 2, a located error), outputs that fail
validate (an error finding), outputs with findings the input did not have (and those of them
beyond what the pattern documents), and lint findings per rule before and after.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from manifestkit.cli import main as cli_main
from manifestkit.diagnostics import Diagnostic
from manifestkit.validation import at_or_above, validate_paths
from manifestkit.validation_checks import Options
from manifestkit.yamlio import load_file

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus"


def corpus_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.yaml") if p.is_file())


def findings(path: Path) -> list[Diagnostic]:
    return validate_paths([str(path)], Options(strict=False, ignore_missing_schemas=True)).findings


def _key(d: Diagnostic) -> tuple[str, str]:
    # The object and message, not the line: inject moves lines.
    return (d.rule or "schema", d.message)


# What the built-in patterns document that they leave to the user, on their own container only
# (docs/patterns.md): no probes, no resources, no runAsNonRoot.
DOCUMENTED = frozenset({"MK007", "MK012", "MK013"})


def documented(key: tuple[str, str], pattern: str) -> bool:
    container = pattern.split("=", 1)[0].rsplit("/", 1)[-1]
    return key[0] in DOCUMENTED and f"container {container!r}" in key[1]


def inject_file(path: Path, out: Path, pattern: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli_main(["inject", "-p", pattern, str(path), "-o", str(out)])
    return code, err.getvalue()


def report(root: Path, pattern: str) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    before_rules: Counter[str] = Counter()
    after_rules: Counter[str] = Counter()
    new_rules: Counter[str] = Counter()
    examples: dict[str, list[str]] = {"crashes": [], "refused": [], "new_findings": []}   # new: undocumented only
    with tempfile.TemporaryDirectory() as tmp:
        for path in corpus_files(root):
            counts["files"] += 1
            counts["objects"] += sum(1 for d in load_file(str(path)) if isinstance(d.data, dict) and "kind" in d.data)
            before = findings(path)
            before_rules.update(d.rule or "schema" for d in before)
            if at_or_above(before, "error"):
                counts["inputs that fail validate"] += 1
            out = Path(tmp) / "out.yaml"
            code, err = inject_file(path, out, pattern)
            rel = str(path.relative_to(root))
            if code == 3:
                counts["inject crashes"] += 1
                examples["crashes"].append(rel)
                continue
            if code != 0:
                counts["inject refusals"] += 1
                examples["refused"].append(f"{rel}: {err.strip().splitlines()[0] if err.strip() else code}")
                continue
            counts["inject ok"] += 1
            after = findings(out)
            after_rules.update(d.rule or "schema" for d in after)
            if at_or_above(after, "error"):
                counts["inject outputs that fail validate"] += 1
            extra = Counter(map(_key, after)) - Counter(map(_key, before))
            if extra:
                counts["inject outputs with new findings"] += 1
                new_rules.update(rule for rule, _ in extra.elements())
            other = sorted(key for key in extra if not documented(key, pattern))
            if other:
                counts["inject outputs with undocumented new findings"] += 1
                examples["new_findings"].append(f"{rel}: {other[0][0]}: {other[0][1]}")
    return {"counts": dict(counts), "before": dict(before_rules), "after": dict(after_rules),
            "new": dict(new_rules), "examples": examples}


def table(result: dict[str, Any]) -> str:
    lines = [f"{k:48} {v:>6}" for k, v in sorted(result["counts"].items())]
    rules = sorted(set(result["before"]) | set(result["after"]) | set(result["new"]))
    lines.append("")
    lines.append(f"{'rule':10} {'input':>8} {'after inject':>13} {'new':>6}")
    lines += [f"{r:10} {result['before'].get(r, 0):>8} {result['after'].get(r, 0):>13} {result['new'].get(r, 0):>6}"
              for r in rules]
    for what, items in result["examples"].items():
        if items:
            lines.append(f"\n{what} ({len(items)}), first ones:")
            lines += [f"  {item}" for item in items[:8]]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--pattern", default="sidecar/envoy")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = report(args.corpus, args.pattern)
    sys.stdout.write(json.dumps(result, indent=2) + "\n" if args.json else table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
