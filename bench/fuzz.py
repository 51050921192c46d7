"""The large fuzz run of issue 11 (point 15): mutated examples through render, validate, inject and
diff, counting exit codes and every problem. Not a test; the bounded run is tests/test_fuzz.py.

    python bench/fuzz.py [--cases 2000] [--seed 1]
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests._fuzz import run_case


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    codes: collections.Counter[int] = collections.Counter()
    problems: collections.Counter[str] = collections.Counter()
    slowest = (0.0, "")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        os.environ["HOME"] = tmp
        for case in range(args.cases):
            start = time.monotonic()
            outcome = run_case(work, args.seed, case)
            slowest = max(slowest, (time.monotonic() - start, outcome.case))
            codes[outcome.code] += 1
            for problem in outcome.problems:
                problems["slower than 10 s" if problem.startswith("took ") else problem] += 1
                print(f"{outcome.case}: {problem}", flush=True)
    print(f"cases: {args.cases} (seed {args.seed})")
    print("exit codes: " + ", ".join(f"{code}: {n}" for code, n in sorted(codes.items())))
    for name in ("exit 3 (internal error)", "traceback printed", "a file outside the output folder changed",
                 "output left behind by a failed command", "slower than 10 s"):
        print(f"{name}: {problems[name]}")
    print(f"slowest case: {slowest[0]:.2f} s ({slowest[1]})")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
