"""The record every CLI command module exports as ``COMMAND``."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import NamedTuple


class Command(NamedTuple):
    """One subcommand: its help line, how to add its options, and what it runs.

    ``run`` gets the parsed arguments and the process environment (only the CLI reads
    ``os.environ``) and returns the exit code. It raises ManifestkitError for bad input.
    """

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Mapping[str, str]], int]
