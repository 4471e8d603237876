"""``schemahub serve``: the registry HTTP server (uvicorn, uvloop, httptools: :mod:`registry.http.server`).

An option's value comes from the command line, else its ``SCHEMAHUB_*``
variable, else Confluent's settings (``--config`` and ``SCHEMA_REGISTRY_*``,
:mod:`registry.cli.confluent_config`), else its default (:data:`DEFAULTS`).
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import threading
from collections.abc import Callable
from types import FrameType

import uvicorn

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
# The defaults of the options Confluent's settings may set (their parser default is None: not given;
# the help shows these).
DEFAULTS: dict[str, object] = {
    "host": "127.0.0.1", "port": 8081, "topic": "_schemas", "group_id": "schema-registry",
    "leader_eligibility": True, "default_compatibility": "BACKWARD", "mode_mutability": True,
}


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _level(text: str) -> str:
    from ..config import LEVELS

    level = text.strip().upper()
    if level not in LEVELS:
        raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(LEVELS)}")
    return level


def _log_level(text: str) -> str:
    level = text.strip().lower()
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(LOG_LEVELS)}")
    return level


def add_parser(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve", help="run the registry HTTP server",
        description="Serve the Confluent Schema Registry API. Each option also reads the environment variable "
        "named in its help; the option wins.",
    )
    env = os.environ.get
    serve.add_argument(
        "--config", default=env("SCHEMAHUB_CONFIG"), metavar="FILE",
        help="Confluent Schema Registry's schema-registry.properties: the settings that apply are used, the "
             "others listed (SCHEMAHUB_CONFIG; SCHEMA_REGISTRY_* variables are read as Confluent's image reads them)",
    )
    serve.add_argument("--host", default=env("SCHEMAHUB_HOST"), help="address to bind (SCHEMAHUB_HOST)")
    serve.add_argument(
        "--port", type=int, default=env("SCHEMAHUB_PORT"), help="port to listen on (SCHEMAHUB_PORT)"
    )
    serve.add_argument(
        "--db", default=_env("SCHEMAHUB_DB", "./schemahub.db"),
        help="SQLite database file, created when absent (SCHEMAHUB_DB)",
    )
    serve.add_argument(
        "--log-level", type=_log_level, default=_env("SCHEMAHUB_LOG_LEVEL", "info"), metavar="LEVEL",
        help=f"{', '.join(LOG_LEVELS)}; info logs one line per request (SCHEMAHUB_LOG_LEVEL)",
    )
    serve.add_argument("--no-ui", action="store_true", help="leave out the web console at /ui/")
    serve.add_argument(
        "--default-compatibility", type=_level, default=env("SCHEMAHUB_DEFAULT_COMPATIBILITY"), metavar="LEVEL",
        help="compatibility level where none is set (SCHEMAHUB_DEFAULT_COMPATIBILITY)",
    )
    from .kafka_options import boolean

    serve.add_argument(
        "--mode-mutability", type=boolean, default=env("SCHEMAHUB_MODE_MUTABILITY"), metavar="true|false",
        help="whether /mode may be changed (SCHEMAHUB_MODE_MUTABILITY)",
    )
    from .kafka_options import add_kafka_arguments

    add_kafka_arguments(serve)
    from .security_options import add_security_arguments

    add_security_arguments(serve)
    serve.set_defaults(func=run)
    for action in serve._actions:
        if action.dest in DEFAULTS:
            action.fallback = DEFAULTS[action.dest]  # shown by the help


def open_store(args: argparse.Namespace):
    from .kafka_options import kafka_connection, open_kafka_store

    bootstrap, settings = kafka_connection(args)
    if bootstrap:
        return open_kafka_store(args, bootstrap, settings)
    from ..stores.sqlite import SQLiteStore

    return SQLiteStore(args.db)


def freeze_after(built: Callable[[], object]) -> None:
    """Wait for ``built`` to return, then put every object the collector tracks out of its
    sight (``gc.freeze``).

    For what is built once after the start and lives as long as the server: the console's
    subject index is a row per subject, built in the background. Left in sight, each full
    collection walked its 100 000 rows (~70 ms) and one came every few hundred registrations."""
    built()
    gc.freeze()


def run(args: argparse.Namespace) -> int:
    from ..http.app import create_app
    from ..service import Registry
    from .confluent_config import apply_confluent_config
    from .security_options import security_settings

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    apply_confluent_config(args)
    for name, default in DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    security = security_settings(args)
    # The replayed state is millions of long-lived objects, none of them cyclic: the collector
    # stays off until they are built, then they are out of its sight (frozen), so neither the
    # start nor a full collection later walks them (a pause that would grow with the registry).
    gc.disable()
    try:
        registry = Registry(
            open_store(args), default_level=args.default_compatibility, mode_mutability=args.mode_mutability
        )
    finally:
        gc.freeze()
        gc.enable()
    app = create_app(registry, ui=not args.no_ui, **security.app_kwargs)
    console = getattr(app.state, "console", None)
    if console is not None:  # (the build starts with the lifespan, once everything above is done)
        threading.Thread(target=freeze_after, args=(console.index_built.wait,), name="freeze-console",
                         daemon=True).start()
    config = uvicorn.Config(
        app, host=args.host, port=args.port, log_level=args.log_level.lower(),
        # one line per request at INFO; below that, not even the line's fields are worked out
        access_log=args.log_level.lower() in ("trace", "debug", "info"),
        **security.connections.uvicorn_kwargs(), **security.uvicorn_tls,
    )
    try:
        CleanExitServer(config).run()
    finally:
        registry.close()
    return 0


class CleanExitServer(uvicorn.Server):
    """After a graceful SIGTERM/SIGINT shutdown, exit 0 instead of re-raising the signal."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()
