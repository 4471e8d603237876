"""Users and access rules: the ``--auth-file`` (written by ``schemahub users``, :mod:`registry.cli.users`).

The file is JSON or TOML (chosen by its suffix ``.toml``, else by content)::

    [users.orders-team]
    password = "scrypt$16384$8$1$<salt>$<hash>"

    [[rules]]
    user = "orders-team"            # a user name, or "*" for every user
    operations = ["read", "write"]  # read, write, delete, config, or "*"
    subjects = ["orders-*"]         # globs; "re:<regex>" for a regular expression
    global = false                  # true: also the global config/mode and contexts

    [[rules]]
    group = "payments-readers"      # instead of user: every caller a bearer token puts in this group
    operations = ["read"]
    subjects = ["payments-*"]

Passwords are stored only as salted scrypt hashes (``hashlib.scrypt``);
``schemahub users add FILE NAME`` writes one, ``schemahub users hash`` prints one.
A rule grants; nothing else does. Subjects are matched case-sensitively against
the qualified subject name (``:.ctx:name`` outside the default context). With
bearer tokens on (:mod:`registry.access.tokens`), a rule's ``user`` may also name a
token's principal that has no password here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import tomllib
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from ..patterns import PatternError, compile_pattern

OPERATIONS = ("read", "write", "delete", "config")
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32
_SCRYPT_MAXMEM = 64 * 1024 * 1024


class AuthFileError(ValueError):
    """The users file cannot be read or is not well formed."""


# -- password hashes ----------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """``scrypt$N$r$p$salt$key`` with a fresh random salt (base64 fields)."""
    salt = os.urandom(SALT_BYTES)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES, maxmem=_SCRYPT_MAXMEM)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(key)}"


def _parse_hash(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise AuthFileError("a password must be a hash 'scrypt$N$r$p$salt$key' (see `schemahub users hash`)")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, key = base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5], validate=True)
    except ValueError as exc:
        raise AuthFileError(f"malformed scrypt hash: {exc}") from None
    if n < 2 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16 or 128 * r * n * p > _SCRYPT_MAXMEM:
        raise AuthFileError("scrypt parameters out of range")
    if len(salt) < 8 or not key:
        raise AuthFileError("scrypt salt or key too short")
    return n, r, p, salt, key


def verify_password(password: str, encoded: str) -> bool:
    n, r, p, salt, key = _parse_hash(encoded)
    got = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=len(key), maxmem=_SCRYPT_MAXMEM)
    return hmac.compare_digest(got, key)


# -- rules ----------------------------------------------------------------------


@dataclass(frozen=True)
class SubjectPattern:
    """A glob (``fnmatchcase``: ``*`` also matches ``/`` and ``:``) or ``re:<regex>`` (full match,
    RE2 syntax: matched in linear time against the names clients send)."""

    text: str
    regex: Any = field(default=None, compare=False)

    @classmethod
    def parse(cls, text: str) -> SubjectPattern:
        if not isinstance(text, str) or not text:
            raise AuthFileError(f"a subject pattern must be a non-empty string, got {text!r}")
        if text.startswith("re:"):
            try:
                return cls(text, compile_pattern(text[3:]))
            except PatternError as exc:
                raise AuthFileError(f"bad regular expression {text!r} (RE2 syntax): {exc}") from None
        return cls(text)

    def matches(self, subject: str) -> bool:
        if self.regex is not None:
            return self.regex.fullmatch(subject) is not None
        return fnmatchcase(subject, self.text)


@dataclass(frozen=True)
class Rule:
    user: str | None  # a user or principal, "*" for everyone; None when the rule names a group
    operations: frozenset[str]
    subjects: tuple[SubjectPattern, ...] = ()
    global_: bool = False
    group: str | None = None

    def applies_to(self, user: str, groups: frozenset[str] = frozenset()) -> bool:
        if self.group is not None:
            return self.group in groups
        return self.user == "*" or self.user == user


@dataclass
class AuthConfig:
    users: dict[str, str] = field(default_factory=dict)  # name -> scrypt hash
    rules: list[Rule] = field(default_factory=list)
    realm: str = "schemahub"

    def verify(self, user: str, password: str) -> bool:
        encoded = self.users.get(user)
        if encoded is None:
            # Spend the same time as for a real user, so timing does not tell names apart.
            verify_password(password, _DUMMY_HASH)
            return False
        return verify_password(password, encoded)

    def may(self, user: str, operation: str, subject: str, groups: frozenset[str] = frozenset()) -> bool:
        """Whether ``user`` (in ``groups``) may do ``operation`` on the (qualified) ``subject``."""
        for rule in self.rules:
            if rule.applies_to(user, groups) and operation in rule.operations:
                if any(p.matches(subject) for p in rule.subjects):
                    return True
        return False

    def may_global(self, user: str, operation: str, groups: frozenset[str] = frozenset()) -> bool:
        return any(r.applies_to(user, groups) and operation in r.operations and r.global_ for r in self.rules)


_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + _b64(bytes(KEY_BYTES))


def _operations(value: object, where: str) -> frozenset[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise AuthFileError(f"{where}: 'operations' must be a non-empty list")
    ops: set[str] = set()
    for op in value:
        if op == "*":
            ops.update(OPERATIONS)
        elif op in OPERATIONS:
            ops.add(op)
        else:
            raise AuthFileError(f"{where}: unknown operation {op!r} (use {', '.join(OPERATIONS)} or '*')")
    return frozenset(ops)


def parse_auth_config(data: object, *, token_principals: bool = False) -> AuthConfig:
    """The users file's ``data``; with ``token_principals``, rules may name users without a password
    (principals of bearer tokens)."""
    if not isinstance(data, dict):
        raise AuthFileError("the users file must hold an object with 'users' and 'rules'")
    unknown = set(data) - {"users", "rules", "realm"}
    if unknown:
        raise AuthFileError(f"unknown top-level keys: {sorted(unknown)}")
    users: dict[str, str] = {}
    raw_users = data.get("users") or {}
    if not isinstance(raw_users, dict):
        raise AuthFileError("'users' must map user names to {password = <scrypt hash>}")
    for name, entry in raw_users.items():
        if not name or ":" in name:
            raise AuthFileError(f"bad user name {name!r} (non-empty, no ':')")
        password = entry.get("password") if isinstance(entry, dict) else entry
        if not isinstance(password, str):
            raise AuthFileError(f"user {name!r}: 'password' must be a scrypt hash string")
        _parse_hash(password)  # refuses clear-text passwords
        users[name] = password
    rules = []
    raw_rules = data.get("rules") or []
    if not isinstance(raw_rules, list):
        raise AuthFileError("'rules' must be a list")
    for index, item in enumerate(raw_rules):
        where = f"rule {index + 1}"
        if not isinstance(item, dict):
            raise AuthFileError(f"{where}: must be an object")
        unknown = set(item) - {"user", "group", "operations", "subjects", "global"}
        if unknown:
            raise AuthFileError(f"{where}: unknown keys {sorted(unknown)}")
        user, group = item.get("user"), item.get("group")
        if (user is None) == (group is None):
            raise AuthFileError(f"{where}: give either 'user' (a user name or '*') or 'group' (a token's group)")
        if group is not None and (not isinstance(group, str) or not group):
            raise AuthFileError(f"{where}: 'group' must be a group name")
        if user is not None and (not isinstance(user, str) or not user):
            raise AuthFileError(f"{where}: 'user' must be a user name or '*'")
        if user not in (None, "*") and user not in users and not token_principals:
            raise AuthFileError(f"{where}: user {user!r} is not in 'users'")
        subjects = item.get("subjects") or []
        if isinstance(subjects, str):
            subjects = [subjects]
        if not isinstance(subjects, list):
            raise AuthFileError(f"{where}: 'subjects' must be a list of patterns")
        global_ = item.get("global", False)
        if not isinstance(global_, bool):
            raise AuthFileError(f"{where}: 'global' must be true or false")
        if not subjects and not global_:
            raise AuthFileError(f"{where}: grants nothing (give 'subjects' or 'global = true')")
        rules.append(Rule(user, _operations(item.get("operations"), where),
                          tuple(SubjectPattern.parse(s) for s in subjects), global_, group))
    realm = data.get("realm", "schemahub")
    if not isinstance(realm, str) or '"' in realm:
        raise AuthFileError("'realm' must be a string without quotes")
    return AuthConfig(users, rules, realm)


def read_auth_data(path: Path) -> object:
    """The users file's data as read (TOML by suffix; JSON by suffix or a leading ``{``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AuthFileError(f"cannot read {path}: {exc}") from None
    try:
        if path.suffix.lower() == ".toml":
            return tomllib.loads(text)
        if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
            return json.loads(text)
        return tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise AuthFileError(f"cannot parse {path}: {exc}") from None


def load_auth_file(path: str | os.PathLike, *, token_principals: bool = False) -> AuthConfig:
    path = Path(path)
    try:
        return parse_auth_config(read_auth_data(path), token_principals=token_principals)
    except AuthFileError as exc:
        if str(exc).startswith("cannot"):
            raise
        raise AuthFileError(f"{path}: {exc}") from None


# -- writing the file (``schemahub users``) ------------------------------------


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def dump_toml(data: dict) -> str:
    """The small TOML subset the users file uses."""
    lines = []
    if "realm" in data:
        lines.append(f"realm = {_toml_str(data['realm'])}\n")
    for name, entry in (data.get("users") or {}).items():
        password = entry["password"] if isinstance(entry, dict) else entry
        lines.append(f"[users.{_toml_str(name)}]\npassword = {_toml_str(password)}\n")
    for rule in data.get("rules") or []:
        lines.append("[[rules]]")
        for key, value in rule.items():
            if isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, list):
                lines.append(f"{key} = [{', '.join(_toml_str(v) for v in value)}]")
            else:
                lines.append(f"{key} = {_toml_str(value)}")
        lines.append("")
    return "\n".join(lines)


def write_auth_data(path: Path, data: dict) -> None:
    text = dump_toml(data) if path.suffix.lower() == ".toml" else json.dumps(data, indent=2) + "\n"
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)
