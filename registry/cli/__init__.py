"""The ``schemahub`` command line: each subcommand lives in its own module.

Every command reports a failure as one line on standard error
(``schemahub COMMAND: error: …``) and a non-zero exit, never a traceback:
commands raise :class:`CommandError`, and the store, users-file and file-system
errors they let through are caught here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

# The module of each command: it defines ``add_parser(commands)`` and sets ``func`` on its parsers.
# Only the named command's module is imported (the gate's pulls in confluent-kafka's client, which
# ``serve`` does not need at start-up); every module for help or an unknown command.
COMMAND_MODULES = {
    "serve": "registry.cli.serve",
    "check": "registry.gate.cli",
    "register": "registry.gate.cli",
    "users": "registry.cli.users",
    "export": "registry.cli.dump",
    "import": "registry.cli.dump",
}


class CommandError(Exception):
    """A command cannot do what it was asked: its one-line reason and exit code."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


class HelpFormatter(argparse.HelpFormatter):
    """Help that states each option's default (the environment's value when it sets one)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default if action.default is not None else getattr(action, "fallback", None)
        if (
            "%(default)" in text
            or not action.option_strings
            or default in (None, False, [], argparse.SUPPRESS)
            or "default:" in text
        ):
            return text
        if action.default is None:  # a fallback the command applies itself
            shown = str(default).lower() if isinstance(default, bool) else str(default)
            return f"{text} (default: {shown.replace('%', '%%')})"
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """Every parser and subparser of ``schemahub``: the same help formatter throughout."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """A usage error in one line (argparse would print the whole usage first)."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of ``command`` alone when it is one, else of every command."""
    parser = Parser(prog="schemahub", description="A Confluent-compatible Schema Registry.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    if command in COMMAND_MODULES:
        modules = [COMMAND_MODULES[command]]
    else:
        modules = list(dict.fromkeys(COMMAND_MODULES.values()))
    for name in modules:
        importlib.import_module(name).add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from ..access.users import AuthFileError
    from ..errors import StoreError

    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CommandError as exc:
        return _fail(args.command, str(exc), exc.code)
    except (StoreError, AuthFileError) as exc:
        return _fail(args.command, f"{exc}{_hint(exc, args.command)}", 2)
    except OSError as exc:  # a file or socket the command was pointed at
        return _fail(args.command, f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc), 2)
    except KeyboardInterrupt:
        return 130


def _hint(exc: Exception, command: str) -> str:
    from ..stores.kafka_config import KafkaLoginRefused, KafkaSettingsInvalid, KafkaTlsFailed, KafkaUnreachable

    if isinstance(exc, KafkaLoginRefused):
        return ". Check sasl.mechanism, sasl.username and sasl.password (--kafka-config, SCHEMAHUB_KAFKA_SASL_*)."
    if isinstance(exc, KafkaTlsFailed):
        return (". Check ssl.ca.location (the CA that signed the brokers' certificates), that those certificates "
                "name the host in the bootstrap address, and ssl.certificate.location and ssl.key.location if the "
                "brokers ask for a client certificate (--kafka-config, SCHEMAHUB_KAFKA_SSL_*).")
    if isinstance(exc, KafkaSettingsInvalid):
        return ". Check --kafka-config and the SCHEMAHUB_KAFKA_* variables."
    if not isinstance(exc, KafkaUnreachable):
        return ""
    if command == "serve":
        return ". Check --kafka, or wait for the cluster with --kafka-wait SECONDS."
    return ". Check --kafka."


def _fail(command: str, message: str, code: int) -> int:
    print(f"schemahub {command}: error: {message}", file=sys.stderr, flush=True)
    return code
