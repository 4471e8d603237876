"""``schemahub serve`` options for access control, TLS and limits.

``add_security_arguments`` adds the options; ``security_settings`` turns the
parsed options into the ``create_app`` keywords, the ``uvicorn.Config`` TLS
keywords and the connection limits, failing early (before the server binds)
on a bad file or value.
"""

from __future__ import annotations

import argparse
import os
import ssl
from dataclasses import dataclass, field
from typing import Any

from ..access.tokens import DEFAULT_ALGORITHMS, TokenSettings, TokenVerifier
from ..access.users import AuthConfig, AuthFileError, load_auth_file
from ..http.server import (
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_KEEP_ALIVE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    ConnectionLimits,
)
from . import CommandError


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def add_security_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("security and limits")
    group.add_argument("--auth-file", default=_env("SCHEMAHUB_AUTH_FILE"),
                       help="users and access rules (JSON or TOML); turns on HTTP Basic auth (SCHEMAHUB_AUTH_FILE)")
    oauth = parser.add_argument_group(
        "OAuth 2 / OIDC bearer tokens (beside Basic; the --auth-file rules name token users and groups)")
    oauth.add_argument("--oauth-jwks-url", default=_env("SCHEMAHUB_OAUTH_JWKS_URL"), metavar="URL",
                       help="the identity provider's JWKS: turns on bearer tokens (SCHEMAHUB_OAUTH_JWKS_URL)")
    oauth.add_argument("--oauth-issuer", default=_env("SCHEMAHUB_OAUTH_ISSUER"), metavar="ISS",
                       help="the 'iss' every token must carry (SCHEMAHUB_OAUTH_ISSUER)")
    oauth.add_argument("--oauth-audience", default=_env("SCHEMAHUB_OAUTH_AUDIENCE"), metavar="AUD",
                       help="the 'aud' every token must carry: this registry (SCHEMAHUB_OAUTH_AUDIENCE)")
    oauth.add_argument("--oauth-algorithms", default=_env("SCHEMAHUB_OAUTH_ALGORITHMS", ",".join(DEFAULT_ALGORITHMS)),
                       metavar="ALG,...", help="signature algorithms accepted (SCHEMAHUB_OAUTH_ALGORITHMS)")
    oauth.add_argument("--oauth-leeway", type=float, default=_env("SCHEMAHUB_OAUTH_LEEWAY", "30"), metavar="SECONDS",
                       help="clock skew allowed on exp, nbf and iat (SCHEMAHUB_OAUTH_LEEWAY)")
    oauth.add_argument("--oauth-principal-claim", default=_env("SCHEMAHUB_OAUTH_PRINCIPAL_CLAIM", "sub"),
                       metavar="CLAIM", help="the claim naming the user (SCHEMAHUB_OAUTH_PRINCIPAL_CLAIM)")
    oauth.add_argument("--oauth-groups-claim", default=_env("SCHEMAHUB_OAUTH_GROUPS_CLAIM", "groups"),
                       metavar="CLAIM", help="the claim listing the user's groups or roles, dotted for a nested "
                                             "one such as realm_access.roles (SCHEMAHUB_OAUTH_GROUPS_CLAIM)")
    oauth.add_argument("--oauth-jwks-refresh", type=float, default=_env("SCHEMAHUB_OAUTH_JWKS_REFRESH", "300"),
                       metavar="SECONDS", help="how often the JWKS is fetched again; a token naming an unknown "
                                               "key fetches it at once (SCHEMAHUB_OAUTH_JWKS_REFRESH)")
    group.add_argument("--tls-cert", default=_env("SCHEMAHUB_TLS_CERT"),
                       help="PEM certificate chain: serve HTTPS (SCHEMAHUB_TLS_CERT)")
    group.add_argument("--tls-key", default=_env("SCHEMAHUB_TLS_KEY"), help="PEM private key (SCHEMAHUB_TLS_KEY)")
    group.add_argument("--tls-client-ca", default=_env("SCHEMAHUB_TLS_CLIENT_CA"),
                       help="PEM CA bundle: require client certificates signed by it (SCHEMAHUB_TLS_CLIENT_CA)")
    group.add_argument("--request-timeout", type=float, default=_env("SCHEMAHUB_REQUEST_TIMEOUT", "30"),
                       help="seconds a request may take before a 408 answer; 0 = none (SCHEMAHUB_REQUEST_TIMEOUT)")
    group.add_argument("--max-schema-elements", type=int,
                       default=_env("SCHEMAHUB_MAX_SCHEMA_ELEMENTS", "10000"),
                       help="most fields/symbols/properties a schema may declare (42209); 0 = no limit")
    group.add_argument("--max-body-bytes", type=int,
                       default=_env("SCHEMAHUB_MAX_BODY_BYTES", str(8 * 1024 * 1024)),
                       help="largest request body accepted (413)")
    group.add_argument("--header-timeout", type=float,
                       default=_env("SCHEMAHUB_HEADER_TIMEOUT", str(DEFAULT_HEADER_TIMEOUT)),
                       help="seconds a client has to send a request's headers, from connecting or from the "
                            "request's first byte; then 408 and close; 0 = none (SCHEMAHUB_HEADER_TIMEOUT)")
    group.add_argument("--keep-alive-timeout", type=float,
                       default=_env("SCHEMAHUB_KEEP_ALIVE_TIMEOUT", str(DEFAULT_KEEP_ALIVE_TIMEOUT)),
                       help="seconds an idle kept-alive connection stays open (SCHEMAHUB_KEEP_ALIVE_TIMEOUT)")
    group.add_argument("--max-connections", type=int,
                       default=_env("SCHEMAHUB_MAX_CONNECTIONS", str(DEFAULT_MAX_CONNECTIONS)),
                       help="most open connections; further ones are closed at once (SCHEMAHUB_MAX_CONNECTIONS)")


@dataclass
class SecuritySettings:
    auth: AuthConfig | None = None
    tokens: TokenVerifier | None = None
    request_timeout: float | None = None
    uvicorn_tls: dict[str, Any] = field(default_factory=dict)
    connections: ConnectionLimits = field(default_factory=ConnectionLimits)

    @property
    def app_kwargs(self) -> dict[str, Any]:
        return {"auth": self.auth, "tokens": self.tokens, "request_timeout": self.request_timeout}


def token_verifier(args: argparse.Namespace) -> TokenVerifier | None:
    """The bearer-token check the ``--oauth-*`` options ask for (None without a JWKS URL)."""
    url = getattr(args, "oauth_jwks_url", None)
    if not url:
        return None
    if not args.oauth_issuer or not args.oauth_audience:
        raise CommandError("--oauth-jwks-url needs --oauth-issuer and --oauth-audience (tokens meant for "
                           "another service must not be accepted)")
    if not getattr(args, "auth_file", None):
        raise CommandError("--oauth-jwks-url needs --auth-file: its rules say what each user and group may do")
    try:
        settings = TokenSettings(
            url, args.oauth_issuer, args.oauth_audience,
            tuple(a.strip() for a in args.oauth_algorithms.split(",") if a.strip()), args.oauth_leeway,
            args.oauth_principal_claim, args.oauth_groups_claim or None, args.oauth_jwks_refresh,
        )
    except ValueError as exc:
        raise CommandError(f"--oauth-*: {exc}") from None
    return TokenVerifier(settings)


def security_settings(args: argparse.Namespace) -> SecuritySettings:
    """Read the auth file, check the TLS files and apply the limits; CommandError on a bad setting."""
    from ..http import limits

    settings = SecuritySettings()
    settings.tokens = token_verifier(args)
    if getattr(args, "auth_file", None):
        try:
            settings.auth = load_auth_file(args.auth_file, token_principals=settings.tokens is not None)
        except AuthFileError as exc:
            raise CommandError(f"--auth-file: {exc}") from None
    timeout = getattr(args, "request_timeout", None)
    settings.request_timeout = timeout if timeout and timeout > 0 else None
    limits.configure(
        max_schema_elements=getattr(args, "max_schema_elements", None),
        max_body_bytes=getattr(args, "max_body_bytes", None),
    )
    header_timeout = getattr(args, "header_timeout", DEFAULT_HEADER_TIMEOUT)
    keep_alive = getattr(args, "keep_alive_timeout", DEFAULT_KEEP_ALIVE_TIMEOUT)
    max_connections = getattr(args, "max_connections", DEFAULT_MAX_CONNECTIONS)
    if header_timeout < 0 or keep_alive <= 0 or max_connections < 1:
        raise CommandError("--header-timeout must be >= 0, --keep-alive-timeout > 0, --max-connections >= 1")
    settings.connections = ConnectionLimits(header_timeout, keep_alive, max_connections)
    cert, key, client_ca = (getattr(args, name, None) for name in ("tls_cert", "tls_key", "tls_client_ca"))
    if (key and not cert) or (client_ca and not cert):
        raise CommandError("--tls-key and --tls-client-ca need --tls-cert")
    if cert:
        tls: dict[str, Any] = {"ssl_certfile": cert, "ssl_keyfile": key}
        try:  # fail now with a clear message rather than inside uvicorn
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            if client_ca:
                context.load_verify_locations(client_ca)
        except (OSError, ssl.SSLError) as exc:
            raise CommandError(f"TLS files: {exc}") from None
        if client_ca:
            tls["ssl_ca_certs"] = client_ca
            tls["ssl_cert_reqs"] = ssl.CERT_REQUIRED
        settings.uvicorn_tls = tls
    return settings
