"""TLS: ``--tls-cert``/``--tls-key`` serve https; ``--tls-client-ca`` requires client certificates.

The CA and every certificate are made in the test (the ``cryptography`` package).
"""

from __future__ import annotations

import ssl
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests.security_support import ADMIN, SecureServer, make_pki, write_auth_file
from tests.server import REPO


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_pki(tmp_path_factory.mktemp("pki"))


def _client_context(pki: dict[str, Path], cert: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki["ca"]))
    if cert is not None:
        context.load_cert_chain(str(cert))
    return context


@pytest.fixture(scope="module")
def https(pki: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureServer]:
    directory = tmp_path_factory.mktemp("tls")
    args = ("--tls-cert", str(pki["server_cert"]), "--tls-key", str(pki["server_key"]),
            "--auth-file", str(write_auth_file(directory / "users.json")))
    with SecureServer(directory / "registry.db", extra_args=args, tls=_client_context(pki)) as server:
        yield server


@pytest.fixture(scope="module")
def mutual(pki: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureServer]:
    directory = tmp_path_factory.mktemp("mtls")
    args = ("--tls-cert", str(pki["server_cert"]), "--tls-key", str(pki["server_key"]),
            "--tls-client-ca", str(pki["ca"]))
    with SecureServer(directory / "registry.db", extra_args=args,
                      tls=_client_context(pki, pki["client"])) as server:
        yield server


def test_https_serves_with_the_certificate(https: SecureServer, pki: dict[str, Path]) -> None:
    with httpx.Client(base_url=https.url, verify=_client_context(pki), timeout=10) as client:
        response = client.post("/subjects/tls-value/versions", json={"schema": '"string"'}, auth=ADMIN)
        assert response.status_code == 200, response.text
        assert client.get("/subjects", auth=ADMIN).json() == ["tls-value"]
        assert client.get("/subjects").status_code == 401  # TLS does not replace authentication


def test_plain_http_to_the_tls_port_fails(https: SecureServer) -> None:
    with pytest.raises(httpx.HTTPError):
        response = httpx.get(f"http://127.0.0.1:{https.port}/health", timeout=5)
        # some servers answer a plain request with an error page: that must not be a 200
        assert response.status_code != 200
        raise httpx.RemoteProtocolError("answered, but not with success")


def test_an_untrusted_server_certificate_is_refused(https: SecureServer) -> None:
    with pytest.raises(httpx.ConnectError):
        httpx.get(https.url + "/health", timeout=5)  # the system trust store does not know our CA


def test_client_certificate_required(mutual: SecureServer, pki: dict[str, Path]) -> None:
    good = httpx.get(mutual.url + "/subjects", verify=_client_context(pki, pki["client"]), timeout=5)
    assert good.status_code == 200 and good.json() == []
    for cert in (None, pki["rogue_client"]):
        with pytest.raises((httpx.HTTPError, ssl.SSLError)):
            httpx.get(mutual.url + "/subjects", verify=_client_context(pki, cert), timeout=5).raise_for_status()


def test_bad_tls_options_fail_before_serving(tmp_path: Path, pki: dict[str, Path]) -> None:
    for args in (["--tls-cert", str(tmp_path / "missing.pem"), "--tls-key", str(pki["server_key"])],
                 ["--tls-key", str(pki["server_key"])],
                 ["--tls-cert", str(pki["server_cert"]), "--tls-key", str(pki["client"])]):
        result = subprocess.run(
            [sys.executable, "-m", "registry.cli", "serve", "--port", "0", "--db", str(tmp_path / "x.db"), *args],
            cwd=REPO, capture_output=True, text=True, timeout=60,
        )
        assert result.returncode != 0
        assert "schemahub:" in result.stderr, result.stderr
