"""The ``schemahub`` command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Sequence


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="schemahub", description="A Confluent-compatible Schema Registry.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the registry HTTP server")
    serve.add_argument("--host", default=_env("SCHEMAHUB_HOST", "127.0.0.1"), help="address to bind (SCHEMAHUB_HOST)")
    serve.add_argument(
        "--port", type=int, default=int(_env("SCHEMAHUB_PORT", "8081")), help="port to listen on (SCHEMAHUB_PORT)"
    )
    serve.add_argument(
        "--db", default=_env("SCHEMAHUB_DB", "./schemahub.db"), help="SQLite database file (SCHEMAHUB_DB)"
    )
    serve.add_argument(
        "--log-level", default=_env("SCHEMAHUB_LOG_LEVEL", "info"), help="log level (SCHEMAHUB_LOG_LEVEL)"
    )
    return parser


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .http.app import create_app
    from .service import Registry
    from .sqlite_store import SQLiteStore

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    registry = Registry(SQLiteStore(args.db))
    app = create_app(registry)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level.lower(), access_log=True)
    finally:
        registry.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
