"""TLS: ``--tls-cert``/``--tls-key`` serve https; ``--tls-client-ca`` requires client certificates.

The CA and every certificate are made in the test (the ``cryptography`` package).
"""

from __future__ import annotations

import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.security_support import ADMIN, SecureServer, make_pki, write_auth_file
from tests.server import REPO
from tests.test_gate_support import avro, project  # noqa: F401


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
        assert result.returncode == 2
        assert result.stderr.startswith("schemahub serve: error: ") and "Traceback" not in result.stderr, result.stderr


# -- the CI gate against a registry behind TLS and access control ---------------------


def _gate_file(project, name: str, *fields: dict) -> str:
    project.write(f"avro/{name}.avsc", avro({"name": "id", "type": "string"}, *fields))
    return f"avro/{name}.avsc"


def test_gate_over_https_with_basic_auth(project, https: SecureServer, pki: dict[str, Path],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"gate{uuid.uuid4().hex[:8]}"
    path = _gate_file(project, name)
    trust = ("--registry", https.url, "--ca-cert", str(pki["ca"]))
    registered = project.run("register", *trust, "--basic-auth", "admin:admin-secret", "--format", "json", path)
    assert registered.code == 0, registered.out + registered.err
    assert registered.json()["results"][0]["subject"] == f"{name}-value"
    no_credentials = project.run("check", *trust, path)
    assert no_credentials.code == 2 and "401" in no_credentials.out + no_credentials.err
    untrusted = project.run("check", "--registry", https.url, "--basic-auth", "admin:admin-secret", path)
    assert untrusted.code == 2 and "certificate" in (untrusted.out + untrusted.err).lower()
    assert project.run("check", *trust, "--basic-auth", "admin", path).code == 2  # not USER:PASSWORD
    monkeypatch.setenv("SCHEMAHUB_REGISTRY_AUTH", "")  # an unset CI secret: no credentials, not an error
    assert "401" in project.run("check", *trust, path).out
    monkeypatch.setenv("SCHEMAHUB_REGISTRY_AUTH", "admin:admin-secret")
    breaking = _gate_file(project, name, {"name": "total", "type": "int"})
    result = project.run("check", *trust, breaking)
    assert result.code == 1, result.out + result.err
    assert 'Field "total" on record "' in result.out and "was added without a default." in result.out


def test_gate_with_a_client_certificate(project, mutual: SecureServer, pki: dict[str, Path]) -> None:
    path = _gate_file(project, f"mtls{uuid.uuid4().hex[:8]}")
    trust = ("--registry", mutual.url, "--ca-cert", str(pki["ca"]))
    assert project.run("register", *trust, "--client-cert", str(pki["client"]), path).code == 0
    assert project.run("check", *trust, "--client-cert", str(pki["client"]), path).code == 0
    assert project.run("check", *trust, path).code == 2
    assert project.run("check", *trust, "--client-cert", str(pki["rogue_client"]), path).code == 2
    missing = project.run("check", *trust, "--client-cert", str(pki["ca"].parent / "missing.pem"), path)
    assert missing.code == 2 and "TLS files" in missing.err
