"""What each route needs before its handler runs (the rest of the rule is in :mod:`.caller`).

The subject a request names is decided from the route template and the *decoded*
route parameter, normalised to the qualified name, so ``%2F``, ``..``, double
encoding or a changed case name a different (literal, case-sensitive) subject,
never a denied one. A named subject the caller's rules do not cover is refused
with 403 whether or not it exists: the answer depends on the name alone.
Everything reached through something else (ids, guids, references, lists) is
filtered by the registry's operations, where a forbidden item is a missing one.
"""

from __future__ import annotations

from ..errors import Forbidden
from ..subjects import parse_subject
from .caller import Caller

# Routes answered without credentials (liveness/readiness probes).
PUBLIC = frozenset({("GET", "/health"), ("GET", "/ready")})

# What each route needs: (kind, operation). Kinds: "any" (any authenticated user; what it
# answers is filtered by the registry's operations), "subject" (``operation`` on the
# {subject} parameter), "global" (the global config/mode and contexts).
POLICY: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/"): ("any", "read"),
    ("POST", "/"): ("any", "read"),
    ("GET", "/v1/metadata/id"): ("any", "read"),
    ("GET", "/v1/metadata/version"): ("any", "read"),
    ("GET", "/v1/metadata/deployment"): ("any", "read"),
    ("GET", "/contexts"): ("any", "read"),
    ("DELETE", "/contexts/{context}"): ("global", "delete"),
    ("GET", "/associations/resources/{namespace}/{name}"): ("any", "read"),
    ("GET", "/subjects"): ("any", "read"),
    ("GET", "/subjects/{subject}/versions"): ("subject", "read"),
    ("POST", "/subjects/{subject}/versions"): ("subject", "write"),
    ("POST", "/subjects/{subject}"): ("subject", "read"),
    ("GET", "/subjects/{subject}/versions/{version}"): ("subject", "read"),
    ("GET", "/subjects/{subject}/versions/{version}/schema"): ("subject", "read"),
    ("GET", "/subjects/{subject}/versions/{version}/referencedby"): ("subject", "read"),
    ("DELETE", "/subjects/{subject}/versions/{version}"): ("subject", "delete"),
    ("DELETE", "/subjects/{subject}"): ("subject", "delete"),
    ("GET", "/subjects/{subject}/metadata"): ("subject", "read"),
    ("GET", "/schemas/ids/{id}"): ("any", "read"),
    ("GET", "/schemas/ids/{id}/schema"): ("any", "read"),
    ("GET", "/schemas/ids/{id}/subjects"): ("any", "read"),
    ("GET", "/schemas/ids/{id}/versions"): ("any", "read"),
    ("GET", "/schemas/guids/{guid}"): ("any", "read"),
    ("GET", "/schemas/guids/{guid}/ids"): ("any", "read"),
    ("GET", "/schemas/types"): ("any", "read"),
    ("GET", "/schemas"): ("any", "read"),
    ("GET", "/config"): ("any", "read"),
    ("PUT", "/config"): ("global", "config"),
    ("DELETE", "/config"): ("global", "config"),
    ("GET", "/config/{subject}"): ("subject", "read"),
    ("PUT", "/config/{subject}"): ("subject", "config"),
    ("DELETE", "/config/{subject}"): ("subject", "config"),
    ("GET", "/mode"): ("any", "read"),
    ("PUT", "/mode"): ("global", "config"),
    ("DELETE", "/mode"): ("global", "config"),
    ("GET", "/mode/{subject}"): ("subject", "read"),
    ("PUT", "/mode/{subject}"): ("subject", "config"),
    ("DELETE", "/mode/{subject}"): ("subject", "config"),
    ("POST", "/compatibility/subjects/{subject}/versions"): ("subject", "read"),
    ("POST", "/compatibility/subjects/{subject}/versions/{version}"): ("subject", "read"),
    ("GET", "/metrics"): ("any", "read"),
    # DEK Registry: KEKs are registry-wide (reading one shows only its KMS key id); creating,
    # changing or deleting one needs global config rights. DEKs belong to their subject.
    ("GET", "/dek-registry/v1/keks"): ("any", "read"),
    ("POST", "/dek-registry/v1/keks"): ("global", "config"),
    ("GET", "/dek-registry/v1/keks/{name}"): ("any", "read"),
    ("PUT", "/dek-registry/v1/keks/{name}"): ("global", "config"),
    ("DELETE", "/dek-registry/v1/keks/{name}"): ("global", "config"),
    ("POST", "/dek-registry/v1/keks/{name}/undelete"): ("global", "config"),
    ("GET", "/dek-registry/v1/keks/{name}/deks"): ("any", "read"),
    ("POST", "/dek-registry/v1/keks/{name}/deks"): ("global", "config"),  # legacy: the subject is in the body
    ("POST", "/dek-registry/v1/keks/{name}/deks/{subject}"): ("subject", "write"),
    ("GET", "/dek-registry/v1/keks/{name}/deks/{subject}"): ("subject", "read"),
    ("DELETE", "/dek-registry/v1/keks/{name}/deks/{subject}"): ("subject", "delete"),
    ("POST", "/dek-registry/v1/keks/{name}/deks/{subject}/undelete"): ("subject", "delete"),
    ("GET", "/dek-registry/v1/keks/{name}/deks/{subject}/versions"): ("subject", "read"),
    ("GET", "/dek-registry/v1/keks/{name}/deks/{subject}/versions/{version}"): ("subject", "read"),
    ("DELETE", "/dek-registry/v1/keks/{name}/deks/{subject}/versions/{version}"): ("subject", "delete"),
    ("POST", "/dek-registry/v1/keks/{name}/deks/{subject}/versions/{version}/undelete"): ("subject", "delete"),
}
# A route missing from POLICY (added later without a rule) needs global config rights.
DEFAULT_POLICY = ("global", "config")
# Registering with ?force=true skips the subject's compatibility level: that is the
# subject's policy, so it needs ``config`` on the subject as well as ``write``.
FORCED_REGISTER = ("POST", "/subjects/{subject}/versions")


def authorize(caller: Caller, method: str, template: str, params: dict[str, str], *, force: bool = False) -> None:
    """Raise 403 unless ``caller`` may use the route ``(method, template)`` with ``params``."""
    kind, operation = POLICY.get((method, template), DEFAULT_POLICY)
    if kind == "any":
        return
    if kind == "global":
        if not caller.may_global(operation):
            raise Forbidden(f"User {caller.user} is not permitted to {operation} the global configuration")
        return
    subject = parse_subject(params.get("subject", "")).qualified
    needed = [operation]
    if force and (method, template) == FORCED_REGISTER:
        needed.append("config")
    for op in needed:
        if not caller.may(op, subject):
            raise Forbidden(f"User {caller.user} is not permitted to {op} subject '{subject}'")
