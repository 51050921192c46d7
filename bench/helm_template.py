"""`helm template` through helm-python-sdk (Helm's own Go engine, offline), as a child
process of bench_render.py so its wall time and peak memory count like a CLI's.

    python bench/helm_template.py ROOT [--values NAME] [--namespace NS]

renders every chart ``ROOT/*/Chart.yaml`` (or ROOT itself when it is a chart) with its
``NAME`` values file (``values-prod.yaml`` by default; none when absent), parsed by Helm, and
prints the number of rendered manifests.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import helm_python


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path)
    parser.add_argument("--values", default="values-prod.yaml")
    parser.add_argument("--namespace", default="default")
    args = parser.parse_args(argv)
    charts = [args.root] if (args.root / "Chart.yaml").is_file() else sorted(
        p.parent for p in args.root.glob("*/Chart.yaml"))
    rendered = 0
    for chart in charts:
        values_file = chart / args.values
        values = helm_python.values_from_yaml(values_file.read_text()) if values_file.is_file() else {}
        with helm_python.Chart.load(str(chart)) as loaded:
            rendered += len(loaded.render(values, name=chart.name, namespace=args.namespace))
    print(rendered)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
