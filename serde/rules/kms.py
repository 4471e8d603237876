"""KMS drivers: where a KEK lives and how it wraps a DEK.

A driver answers for key URLs starting with its prefix (``local-kms://``)
and gives an AEAD (``encrypt(plaintext, associated_data)``,
``decrypt(ciphertext, associated_data)``) for a key. The local driver is
confluent-kafka's ``local-kms``: the KEK is derived from a secret
(``rule_conf`` ``secret``, or the ``LOCAL_SECRET`` environment variable) with
HKDF-SHA256 into an AES-128-GCM key, and wrapped DEKs are Tink's raw
AES-GCM form (12-byte nonce, ciphertext, 16-byte tag), so either library
unwraps what the other wrapped. ``aws-kms://`` (:mod:`serde.rules.awskms`)
loads from the ``aws`` extra on first use; other drivers can be added with
:func:`register_kms_driver`.
"""

from __future__ import annotations

import importlib
import os
import threading
from typing import Any, Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .core import RuleError

__all__ = ["Aead", "KmsDriver", "LocalKmsDriver", "get_kms_driver", "register_kms_driver"]

NONCE = 12


class Aead(Protocol):
    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes: ...

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes: ...


class KmsDriver(Protocol):
    def get_key_url_prefix(self) -> str: ...

    def new_aead(self, conf: dict[str, Any], key_url: str) -> Aead: ...


class AesGcmAead:
    """Tink's raw AES-GCM: a random 12-byte nonce before the ciphertext and tag."""

    __slots__ = ("_gcm",)

    def __init__(self, key: bytes) -> None:
        self._gcm = AESGCM(key)

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        nonce = os.urandom(NONCE)
        return nonce + self._gcm.encrypt(nonce, plaintext, associated_data or None)

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes:
        if len(ciphertext) < NONCE + 16:
            raise RuleError("ciphertext too short")
        return self._gcm.decrypt(ciphertext[:NONCE], ciphertext[NONCE:], associated_data or None)


class LocalKmsDriver:
    """``local-kms://``: a KEK derived from a shared secret (for development and tests)."""

    def get_key_url_prefix(self) -> str:
        return "local-kms://"

    def new_aead(self, conf: dict[str, Any], key_url: str) -> Aead:
        secret = conf.get("secret") or os.environ.get("LOCAL_SECRET")
        if not secret:
            raise RuleError("local-kms: no secret (set rule_conf 'secret' or LOCAL_SECRET)")
        key = HKDF(algorithm=hashes.SHA256(), length=16, salt=None, info=None).derive(str(secret).encode("utf-8"))
        return AesGcmAead(key)


_drivers: list[KmsDriver] = [LocalKmsDriver()]
_lock = threading.Lock()
# Drivers in optional extras, loaded the first time a key URL names them.
_OPTIONAL = {"aws-kms://": "serde.rules.awskms"}


def register_kms_driver(driver: KmsDriver) -> None:
    with _lock:
        _drivers.insert(0, driver)


def get_kms_driver(key_url: str) -> KmsDriver:
    for attempt in range(2):
        with _lock:
            for driver in _drivers:
                if key_url.startswith(driver.get_key_url_prefix()):
                    return driver
        module = next((name for prefix, name in _OPTIONAL.items() if key_url.startswith(prefix)), None)
        if module is None or attempt:
            break
        try:
            importlib.import_module(module).register()
        except ImportError as exc:
            raise RuleError(f"{key_url.split('://')[0]} needs its extra (pip install 'schemahub[aws]'): {exc}") from exc
    raise RuleError(f"no KMS driver found for key URL: {key_url}")
