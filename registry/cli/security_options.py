"""``schemahub serve`` options for access control, TLS and limits.

``add_security_arguments`` adds the options; ``security_settings`` turns the
parsed options into the ``create_app`` keywords and the ``uvicorn.Config``
TLS keywords, failing early (before the server binds) on a bad file.
"""

from __future__ import annotations

import argparse
import os
import ssl
from dataclasses import dataclass, field
from typing import Any

from ..access.users import AuthConfig, AuthFileError, load_auth_file


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def add_security_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("security and limits")
    group.add_argument("--auth-file", default=_env("SCHEMAHUB_AUTH_FILE"),
                       help="users and access rules (JSON or TOML); turns on HTTP Basic auth (SCHEMAHUB_AUTH_FILE)")
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


@dataclass
class SecuritySettings:
    auth: AuthConfig | None = None
    request_timeout: float | None = None
    uvicorn_tls: dict[str, Any] = field(default_factory=dict)

    @property
    def app_kwargs(self) -> dict[str, Any]:
        return {"auth": self.auth, "request_timeout": self.request_timeout}


def security_settings(args: argparse.Namespace) -> SecuritySettings:
    """Read the auth file, check the TLS files and apply the limits; SystemExit on a bad setting."""
    from ..http import limits

    settings = SecuritySettings()
    if getattr(args, "auth_file", None):
        try:
            settings.auth = load_auth_file(args.auth_file)
        except AuthFileError as exc:
            raise SystemExit(f"schemahub: --auth-file: {exc}") from None
    timeout = getattr(args, "request_timeout", None)
    settings.request_timeout = timeout if timeout and timeout > 0 else None
    limits.configure(
        max_schema_elements=getattr(args, "max_schema_elements", None),
        max_body_bytes=getattr(args, "max_body_bytes", None),
    )
    cert, key, client_ca = (getattr(args, name, None) for name in ("tls_cert", "tls_key", "tls_client_ca"))
    if (key and not cert) or (client_ca and not cert):
        raise SystemExit("schemahub: --tls-key and --tls-client-ca need --tls-cert")
    if cert:
        tls: dict[str, Any] = {"ssl_certfile": cert, "ssl_keyfile": key}
        try:  # fail now with a clear message rather than inside uvicorn
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            if client_ca:
                context.load_verify_locations(client_ca)
        except (OSError, ssl.SSLError) as exc:
            raise SystemExit(f"schemahub: TLS files: {exc}") from None
        if client_ca:
            tls["ssl_ca_certs"] = client_ca
            tls["ssl_cert_reqs"] = ssl.CERT_REQUIRED
        settings.uvicorn_tls = tls
    return settings
