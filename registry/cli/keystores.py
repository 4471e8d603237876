"""Java keystores and truststores as the PEM text OpenSSL reads.

Confluent's ``*.ssl.truststore.*`` and ``*.ssl.keystore.*`` settings name JKS,
PKCS12 or PEM files. :func:`trusted_pem` reads the certificates of any of the
three (a JKS file's integrity digest is checked when a password is given);
:func:`key_and_chain_pem` reads a private key and its certificate chain from a
PKCS12 or PEM keystore. A JKS keystore holding a private key is refused with the
``keytool`` command that converts it to PKCS12.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

MAX_BYTES = 1024 * 1024
_JKS_MAGIC = 0xFEEDFEED
_JCEKS_MAGIC = 0xCECECECE


class KeystoreError(ValueError):
    """A key or trust store that cannot be read (the message says which and why)."""


def _read(path: str | Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise KeystoreError(f"{path}: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise KeystoreError(f"{path}: larger than {MAX_BYTES // 1024} KiB, not a keystore")
    return data


def _pem(certificates: list[x509.Certificate]) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in certificates)


class _Reader:
    """Big-endian fields of a JKS file, bounds-checked."""

    def __init__(self, data: bytes, path: str | Path) -> None:
        self.data, self.path, self.at = data, path, 0

    def take(self, count: int) -> bytes:
        if count < 0 or self.at + count > len(self.data):
            raise KeystoreError(f"{self.path}: truncated JKS keystore")
        chunk = self.data[self.at : self.at + count]
        self.at += count
        return chunk

    def u16(self) -> int:
        return int(struct.unpack(">H", self.take(2))[0])

    def u32(self) -> int:
        return int(struct.unpack(">I", self.take(4))[0])

    def utf(self) -> str:
        return self.take(self.u16()).decode("utf-8", "replace")


def _jks_certificates(data: bytes, password: str | None, path: str | Path) -> list[x509.Certificate]:
    """The trusted certificates of a JKS file (format: Sun's ``JavaKeyStore``)."""
    reader = _Reader(data, path)
    if reader.u32() != _JKS_MAGIC:
        raise KeystoreError(f"{path}: not a JKS keystore")
    version = reader.u32()
    if version not in (1, 2):
        raise KeystoreError(f"{path}: JKS version {version} is not known")
    found: list[x509.Certificate] = []
    for _ in range(reader.u32()):
        tag = reader.u32()
        reader.utf()  # alias
        reader.take(8)  # creation time
        if tag == 1:
            raise KeystoreError(
                f"{path}: a JKS keystore with a private key is not read here; convert it to PKCS12: keytool "
                f"-importkeystore -srckeystore {path} -destkeystore {path}.p12 -deststoretype PKCS12"
            )
        if tag != 2:
            raise KeystoreError(f"{path}: unknown JKS entry type {tag}")
        if version == 2:
            reader.utf()  # certificate type
        der = reader.take(reader.u32())
        try:
            found.append(x509.load_der_x509_certificate(der))
        except ValueError as exc:
            raise KeystoreError(f"{path}: a certificate in it does not parse: {exc}") from None
    if password:
        body = data[: reader.at]
        digest = hashlib.sha1(password.encode("utf-16-be") + b"Mighty Aphrodite" + body).digest()  # noqa: S324 - JKS's own integrity check
        if not hmac.compare_digest(digest, reader.take(20)):
            raise KeystoreError(f"{path}: wrong password (or a damaged keystore)")
    return found


def trusted_pem(path: str | Path, password: str | None = None, kind: str | None = None) -> str:
    """The certificates a truststore holds, as PEM text (``kind``: JKS, PKCS12 or PEM; else guessed)."""
    data = _read(path)
    kind = (kind or "").upper()
    if kind == "PEM" or (not kind and data.lstrip().startswith(b"-----BEGIN")):
        try:
            return _pem(x509.load_pem_x509_certificates(data))
        except ValueError as exc:
            raise KeystoreError(f"{path}: no PEM certificates in it: {exc}") from None
    if data[:4] == struct.pack(">I", _JCEKS_MAGIC):
        raise KeystoreError(f"{path}: a JCEKS keystore; convert it to PKCS12 with keytool -importkeystore")
    if data[:4] == struct.pack(">I", _JKS_MAGIC):
        return _pem(_jks_certificates(data, password, path))
    loaded = _pkcs12(data, password, path)
    certificates = [c.certificate for c in loaded.additional_certs]
    if loaded.cert is not None:
        certificates.insert(0, loaded.cert.certificate)
    if not certificates:
        raise KeystoreError(f"{path}: no certificates in it")
    return _pem(certificates)


def _pem_blocks(data: bytes) -> list[tuple[str, bytes]]:
    """``(label, block)`` of each ``-----BEGIN label-----`` … ``-----END label-----`` in ``data``."""
    blocks: list[tuple[str, bytes]] = []
    at = 0
    while (start := data.find(b"-----BEGIN ", at)) >= 0:
        label_end = data.find(b"-----", start + 11)
        if label_end < 0:
            break
        label = data[start + 11 : label_end]
        end_marker = b"-----END " + label + b"-----"
        end = data.find(end_marker, label_end)
        if end < 0:
            break
        blocks.append((label.decode("ascii", "replace"), data[start : end + len(end_marker)]))
        at = end + len(end_marker)
    return blocks


def _pkcs12(data: bytes, password: str | None, path: str | Path) -> pkcs12.PKCS12KeyAndCertificates:
    try:
        return pkcs12.load_pkcs12(data, password.encode() if password else None)
    except ValueError:
        raise KeystoreError(f"{path}: not a PKCS12 keystore, or a wrong password") from None


def key_and_chain_pem(
    path: str | Path, password: str | None = None, key_password: str | None = None, kind: str | None = None
) -> tuple[str, str]:
    """``(private key, certificate chain)`` of a keystore as PEM text, the key unencrypted."""
    data = _read(path)
    kind = (kind or "").upper()
    if data[:4] == struct.pack(">I", _JKS_MAGIC):
        _jks_certificates(data, password, path)  # refuses, naming the keytool conversion
        raise KeystoreError(f"{path}: a JKS keystore without a private key")
    if kind == "PEM" or (not kind and data.lstrip().startswith(b"-----BEGIN")):
        keys = [block for label, block in _pem_blocks(data) if label.endswith("PRIVATE KEY")]
        if not keys:
            raise KeystoreError(f"{path}: no PEM private key in it")
        try:
            key = serialization.load_pem_private_key(keys[0], key_password.encode() if key_password else None)
            chain = x509.load_pem_x509_certificates(data)
        except (ValueError, TypeError) as exc:
            raise KeystoreError(f"{path}: needs a private key and its certificates in PEM: {exc}") from None
    else:
        loaded = _pkcs12(data, password, path)
        if loaded.key is None or loaded.cert is None:
            raise KeystoreError(f"{path}: no private key with a certificate in it")
        key = loaded.key
        chain = [loaded.cert.certificate, *(c.certificate for c in loaded.additional_certs)]
    key_text = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    return key_text, _pem(chain)
