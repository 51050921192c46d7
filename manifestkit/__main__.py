"""``python -m manifestkit``."""

from manifestkit.cli import main

raise SystemExit(main())
