"""bench/bench_render.py runs (N = 3, one round; no time is asserted): its peers — a
hand-written Helm chart through real Helm, a flat kustomization — are checked to give
manifestkit's plain render before anything is timed, so the bench cannot drift into
comparing different objects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_the_render_bench_runs_every_row_on_the_same_objects() -> None:
    done = subprocess.run([sys.executable, str(BENCH / "bench_render.py"), "3", "--runs", "1", "--skip", "kapitan",
                           "--kustomize-each"], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line.split("  ")[0] for line in done.stdout.splitlines()[3:]]
    # manifestkit's render cache is in this tree, so each format has its warm row too
    assert rows == ["mk plain cold", "mk plain warm", "mk kustomize cold", "mk kustomize warm", "mk helm cold",
                    "mk helm warm", "helm template, hand-written chart",
                    "helm template, hand-written chart per app", "helm template, mk charts (one per app)",
                    "helm template, mk umbrella chart", "kustomize, mk tree (whole env)",
                    "kustomize, flat list of the plain files", "kustomize, mk tree (each app alone)"]
