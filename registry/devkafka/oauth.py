"""A development OAuth 2 / OIDC identity provider on 127.0.0.1, for brokers and registries in tests.

It publishes a JWKS at ``/jwks.json`` (key ``k1``, RSA, until :meth:`rotate`
publishes only ``k2``, EC) and answers the client-credentials grant at
``/token`` (client id and secret in HTTP Basic or in the form) with a JWT
signed by the current key: ``iss`` :attr:`issuer`, ``aud`` the audiences asked
for, ``sub`` the client id and ``groups`` the client's groups. :meth:`token`
signs any claims, for tests that need expired or foreign tokens.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ISSUER = "https://idp.schemahub.test"
LIFETIME = 300  # seconds a token from /token is valid


class DevIdentityProvider:
    """``clients`` maps a client id to its secret and groups; tokens name ``audiences``."""

    def __init__(
        self, clients: Mapping[str, tuple[str, Sequence[str]]], audiences: Sequence[str], issuer: str = ISSUER
    ) -> None:
        self.clients = dict(clients)
        self.audiences = list(audiences)
        self.issuer = issuer
        self._keys: dict[str, Any] = {"k1": rsa.generate_private_key(public_exponent=65537, key_size=2048),
                                      "k2": ec.generate_private_key(ec.SECP256R1())}
        self._algorithms = {"k1": "RS256", "k2": "ES256"}
        self.published, self.current = ["k1"], "k1"
        self.jwks_requests = 0
        self.grants = 0  # tokens issued by /token
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="dev-idp", daemon=True)
        self._thread.start()

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/jwks.json"

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid in self.published:
            family = jwt.algorithms.RSAAlgorithm if kid == "k1" else jwt.algorithms.ECAlgorithm
            public = family.to_jwk(self._keys[kid].public_key(), as_dict=True)
            keys.append({**public, "kid": kid, "use": "sig", "alg": self._algorithms[kid]})
        return {"keys": keys}

    def token(self, *, kid: str | None = None, sub: str = "client", groups: Sequence[str] = (), **claims: Any) -> str:
        """A JWT signed with key ``kid`` (the current one by default); ``claims`` override the defaults."""
        kid = kid or self.current
        now = int(time.time())
        payload = {"iss": self.issuer, "aud": self.audiences, "sub": sub, "iat": now, "exp": now + LIFETIME,
                   "groups": list(groups), **claims}
        return jwt.encode(payload, self._keys[kid], algorithm=self._algorithms[kid], headers={"kid": kid})

    def key(self, kid: str) -> Any:
        """The private key ``kid`` (to sign a token under a key id that is not published)."""
        return self._keys[kid]

    def rotate(self) -> None:
        """Publish only ``k2`` and sign with it from now on."""
        self.published, self.current = ["k2"], "k2"

    def grant(self, form: Mapping[str, str], authorization: str) -> dict[str, Any] | None:
        """The token endpoint's answer to a client-credentials request, or None for a bad client."""
        client, secret = form.get("client_id"), form.get("client_secret")
        if authorization.lower().startswith("basic "):
            client, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        known = self.clients.get(client or "")
        if form.get("grant_type") != "client_credentials" or known is None or known[0] != secret:
            return None
        token = self.token(sub=client or "", groups=known[1])
        self.grants += 1
        return {"access_token": token, "token_type": "Bearer", "expires_in": LIFETIME}

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler(provider: DevIdentityProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/jwks.json":
                return self._send(404, {"error": "not_found"})
            provider.jwks_requests += 1
            return self._send(200, provider.jwks())

        def do_POST(self) -> None:
            length = min(int(self.headers.get("content-length") or 0), 64 * 1024)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            answer = provider.grant(form, self.headers.get("authorization", ""))
            return self._send(200, answer) if answer else self._send(401, {"error": "invalid_client"})

        def _send(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    return Handler
