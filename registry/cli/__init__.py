"""The ``schemahub`` command line: each subcommand lives in its own module."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

# Modules that each define ``add_parser(commands)`` and set ``func`` on their parser.
COMMAND_MODULES = ("registry.cli.serve", "registry.gate.cli", "registry.cli.users", "registry.cli.dump")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="schemahub", description="A Confluent-compatible Schema Registry.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)

