"""Helpers for the security tests: users files, test certificates, a server that needs them."""

from __future__ import annotations

import datetime
import http.client
import json
import ssl
from pathlib import Path

from registry.access.users import hash_password
from tests.server import RegistryServer

ADMIN = ("admin", "admin-secret")
ORDERS = ("orders-team", "orders-secret")
READER = ("reader", "reader-secret")

AVRO = '{"type":"record","name":"%s","fields":[{"name":"id","type":"long"}]}'


def auth_data() -> dict:
    """admin: everything; orders-team: all but global on ``orders-*``; reader: read by regex."""
    return {
        "users": {name: {"password": hash_password(secret)} for name, secret in (ADMIN, ORDERS, READER)},
        "rules": [
            {"user": "admin", "operations": ["*"], "subjects": ["*"], "global": True},
            {"user": "orders-team", "operations": ["read", "write", "delete", "config"], "subjects": ["orders-*"]},
            {"user": "reader", "operations": ["read"], "subjects": [r"re:(orders|payments)-(key|value)"]},
        ],
    }


def write_auth_file(path: Path, data: dict | None = None) -> Path:
    path.write_text(json.dumps(data or auth_data()), encoding="utf-8")
    return path


class SecureServer(RegistryServer):
    """A ``schemahub serve`` whose readiness is probed on ``/health`` (no credentials),
    over https when ``tls`` (an ``ssl.SSLContext`` for the client side) is given."""

    probe_path = "/health"

    def __init__(self, db: Path, *, extra_args: tuple[str, ...] = (), tls: ssl.SSLContext | None = None) -> None:
        super().__init__(db, extra_args=extra_args)
        self.tls = tls
        if tls is not None:
            self.url = f"https://127.0.0.1:{self.port}"
            self.verify = tls

    def raw(self, method: str, raw_path: str, *, auth: tuple[str, str] | None = None,
            body: bytes | None = None) -> tuple[int, dict]:
        """One request with the path sent byte for byte (no client-side normalisation)."""
        import base64

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Content-Type": "application/vnd.schemaregistry.v1+json"}
        if auth:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        try:
            conn.request(method, raw_path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        finally:
            conn.close()
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = {"raw": payload.decode("latin-1")}
        return response.status, parsed


# -- certificates ------------------------------------------------------------------


def _key():
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _write_pem(path: Path, key=None, cert=None) -> Path:
    from cryptography.hazmat.primitives import serialization

    data = b""
    if cert is not None:
        data += cert.public_bytes(serialization.Encoding.PEM)
    if key is not None:
        data += key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    path.write_bytes(data)
    return path


def make_pki(directory: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1/localhost, a client certificate signed
    by the CA and one signed by a second, untrusted CA; paths to their PEM files."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def ca(cn: str):
        key = _key()
        cert = (
            x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(cn)).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256())
        )
        return key, cert

    def leaf(cn: str, issuer, server: bool):
        ca_key, ca_cert = issuer
        key = _key()
        builder = (
            x509.CertificateBuilder().subject_name(name(cn)).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        )
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return key, builder.sign(ca_key, hashes.SHA256())

    root = ca("schemahub test CA")
    rogue = ca("rogue CA")
    server_key, server_cert = leaf("localhost", root, True)
    client_key, client_cert = leaf("client", root, False)
    rogue_key, rogue_cert = leaf("intruder", rogue, False)
    return {
        "ca": _write_pem(directory / "ca.pem", cert=root[1]),
        "server_cert": _write_pem(directory / "server.pem", cert=server_cert),
        "server_key": _write_pem(directory / "server.key", key=server_key),
        "client": _write_pem(directory / "client.pem", key=client_key, cert=client_cert),
        "rogue_client": _write_pem(directory / "rogue.pem", key=rogue_key, cert=rogue_cert),
    }
