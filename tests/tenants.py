"""The three tenants of issue 12 and a registry they share (in process, over HTTP Basic)."""

from __future__ import annotations

import json

from registry.access.users import hash_password

ADMIN = ("admin", "admin-secret")
TEAM = ("orders-team", "team-secret")
READER = ("reader", "reader-secret")

# A field name that must never reach the team user or the reader.
SECRET = "card_secret_number"
PAYMENT = json.dumps({"type": "record", "name": "Payment", "namespace": "pay",
                      "fields": [{"name": SECRET, "type": "string"}]})
VAULT = json.dumps({"type": "record", "name": "Vault", "fields": [{"name": "vault_" + SECRET, "type": "string"}]})


def order(name: str = "Order", extra: str = "") -> str:
    fields = [{"name": "id", "type": "long"}]
    if extra:
        fields.append({"name": extra, "type": "string", "default": ""})
    return json.dumps({"type": "record", "name": name, "fields": fields})


def tenants_data() -> dict:
    """admin: everything; orders-team: read and write on ``orders-*`` only; reader: read on ``re:common-.*``."""
    return {
        "users": {name: {"password": hash_password(secret)} for name, secret in (ADMIN, TEAM, READER)},
        "rules": [
            {"user": "admin", "operations": ["*"], "subjects": ["*"], "global": True},
            {"user": "orders-team", "operations": ["read", "write"], "subjects": ["orders-*"]},
            {"user": "reader", "operations": ["read"], "subjects": ["re:common-.*"]},
        ],
    }
