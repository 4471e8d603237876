"""``schemahub users``: write users, password hashes and rules into an ``--auth-file``."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from ..access.users import OPERATIONS, hash_password, load_auth_file, parse_auth_config, read_auth_data, write_auth_data
from . import CommandError


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise CommandError("the passwords differ")
    if not password:
        raise CommandError("empty password")
    return password


def _cmd_hash(args: argparse.Namespace) -> int:
    print(hash_password(_read_password(args)))
    return 0


def _cmd_add(args: argparse.Namespace) -> int:
    path = Path(args.file)
    data: dict = {"users": {}, "rules": []}
    if path.exists():
        loaded = read_auth_data(path)
        if not isinstance(loaded, dict):
            raise CommandError(f"{path}: not a users file")
        data = loaded
        data.setdefault("users", {})
        data.setdefault("rules", [])
    if ":" in args.name or not args.name:
        raise CommandError("a user name must be non-empty and hold no ':'")
    data["users"][args.name] = {"password": hash_password(_read_password(args))}
    if args.operations or args.subjects or args.global_:
        rule: dict = {"user": args.name, "operations": args.operations or ["read"]}
        if args.subjects:
            rule["subjects"] = args.subjects
        if args.global_:
            rule["global"] = True
        data["rules"].append(rule)
    parse_auth_config(data)
    write_auth_data(path, data)
    print(f"{path}: user {args.name} written", file=sys.stderr)
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    config = load_auth_file(args.file)
    print(f"{args.file}: {len(config.users)} users, {len(config.rules)} rules")
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    users = commands.add_parser("users", help="manage the --auth-file (users, password hashes, rules)")
    sub = users.add_subparsers(dest="users_command", required=True)
    hash_cmd = sub.add_parser("hash", help="print the scrypt hash of a password")
    hash_cmd.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    hash_cmd.set_defaults(func=_cmd_hash)
    add = sub.add_parser("add", help="add or replace a user (and optionally a rule) in a users file")
    add.add_argument("file", help="users file (.toml or .json); created if missing")
    add.add_argument("name", help="the user's name (no ':')")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("--operation", dest="operations", action="append", choices=[*OPERATIONS, "*"],
                     help="grant an operation (repeatable)")
    add.add_argument("--subject", dest="subjects", action="append", help="subject glob or re:regex (repeatable)")
    add.add_argument("--global", dest="global_", action="store_true", help="also grant on global config/mode")
    add.set_defaults(func=_cmd_add)
    check = sub.add_parser("check", help="validate a users file")
    check.add_argument("file", help="users file (.toml or .json)")
    check.set_defaults(func=_cmd_check)


