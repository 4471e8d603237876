"""``aws-kms://`` KMS driver (``pip install 'schemahub[aws]'``), as confluent-kafka's.

The key URL is ``aws-kms://<key ARN>``; the region comes from the ARN.
Credentials: ``rule_conf`` (or the KEK's ``kmsProps``) ``access.key.id`` +
``secret.access.key``, else ``profile``, else boto3's usual chain; with
``role.arn`` (or ``AWS_ROLE_ARN``; ``role.session.name``, ``role.external.id``)
the role is assumed. Like Tink's AWS AEAD, associated data travels as the
encryption context ``{"associatedData": <hex>}`` (DEKs use none). Checked
here against botocore's request stubs only: no AWS account is reachable from
this project's machines.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.credentials import DeferredRefreshableCredentials, create_assume_role_refresher

from .core import RuleError
from .kms import Aead, register_kms_driver

__all__ = ["AwsKmsDriver"]

PREFIX = "aws-kms://"


class AwsKmsAead:
    def __init__(self, client: Any, key_arn: str) -> None:
        self._client = client
        self._key_arn = key_arn

    @staticmethod
    def _context(associated_data: bytes) -> dict[str, Any]:
        return {"EncryptionContext": {"associatedData": associated_data.hex()}} if associated_data else {}

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        answer = self._client.encrypt(KeyId=self._key_arn, Plaintext=plaintext, **self._context(associated_data))
        return bytes(answer["CiphertextBlob"])

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes:
        answer = self._client.decrypt(KeyId=self._key_arn, CiphertextBlob=ciphertext,
                                      **self._context(associated_data))
        if answer.get("KeyId") not in (None, self._key_arn):
            raise RuleError("aws-kms: the ciphertext was made with another key")
        return bytes(answer["Plaintext"])


class AwsKmsDriver:
    def get_key_url_prefix(self) -> str:
        return PREFIX

    def new_aead(self, conf: dict[str, Any], key_url: str) -> Aead:
        key_arn = key_url[len(PREFIX):]
        parts = key_arn.split(":")
        if len(parts) < 6 or parts[0] != "arn" or parts[2] != "kms":
            raise RuleError(f"aws-kms: {key_arn!r} is not a KMS key ARN")
        region = parts[3]
        key, secret, profile = conf.get("access.key.id"), conf.get("secret.access.key"), conf.get("profile")
        if key and secret:
            session = boto3.Session(region_name=region, aws_access_key_id=key, aws_secret_access_key=secret)
        elif profile:
            session = boto3.Session(region_name=region, profile_name=profile)
        else:
            session = boto3.Session(region_name=region)
        role = conf.get("role.arn") or os.environ.get("AWS_ROLE_ARN")
        if role and not os.environ.get("AWS_WEB_IDENTITY_TOKEN_FILE"):
            params = {"RoleArn": role, "RoleSessionName": conf.get("role.session.name")
                      or os.environ.get("AWS_ROLE_SESSION_NAME") or "confluent-encrypt"}
            external = conf.get("role.external.id") or os.environ.get("AWS_ROLE_EXTERNAL_ID")
            if external:
                params["ExternalId"] = external
            session._session._credentials = DeferredRefreshableCredentials(  # as confluent-kafka's driver
                method="sts-assume-role", refresh_using=create_assume_role_refresher(session.client("sts"), params))
        return AwsKmsAead(session.client("kms"), key_arn)


def register() -> None:
    register_kms_driver(AwsKmsDriver())
