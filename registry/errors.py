"""Confluent's error codes, as exceptions the HTTP layer turns into JSON bodies.

Each error carries the HTTP status and the ``error_code`` Confluent Schema
Registry answers with (``../shared/reference/sr-api.md`` §2).
"""

from __future__ import annotations


class RegistryError(Exception):
    """An error answered as ``{"error_code": code, "message": message}``."""

    status: int = 500
    code: int = 50001
    headers: dict[str, str] | None = None

    def __init__(self, message: str, *, code: int | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def body(self) -> dict:
        return {"error_code": self.code, "message": self.message}


class BadRequest(RegistryError):
    """Malformed JSON or a field of the wrong type (rest-utils answers 400)."""

    status = 400
    code = 400


class Unauthenticated(RegistryError):
    """401 with the ``WWW-Authenticate`` challenge: ``Basic`` by default, or the one given
    (``Bearer`` with RFC 6750's ``error`` for a refused token)."""

    status, code = 401, 40101

    def __init__(self, message: str, realm: str, challenge: str | None = None) -> None:
        super().__init__(message)
        self.headers = {"WWW-Authenticate": challenge or f'Basic realm="{realm}", charset="UTF-8"'}


class AuthUnavailable(RegistryError):
    """Credentials cannot be checked now (the identity provider's keys cannot be fetched): 503."""

    status, code = 503, 50301


class Forbidden(RegistryError):
    status, code = 403, 40301


class TooManyAttempts(RegistryError):
    """Credentials refused without checking: too many recent failures (Confluent Cloud's 429, 42901)."""

    status, code = 429, 42901

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(max(1, round(retry_after)))}


class NotAcceptable(RegistryError):
    """No type in ``Accept`` that the registry produces (rest-utils: code = status)."""

    status, code = 406, 406


class RequestTimeout(RegistryError):
    status, code = 408, 40801


class PayloadTooLarge(RegistryError):
    status, code = 413, 413


class UnsupportedMediaType(RegistryError):
    status, code = 415, 415


class SubjectNotFound(RegistryError):
    status, code = 404, 40401

    def __init__(self, subject: str) -> None:
        super().__init__(f"Subject '{subject}' not found.")


class VersionNotFound(RegistryError):
    status, code = 404, 40402

    def __init__(self, version: int | str) -> None:
        super().__init__(f"Version {version} not found.")


class SchemaNotFound(RegistryError):
    status, code = 404, 40403

    def __init__(self, message: str = "Schema not found") -> None:
        super().__init__(message)


class SubjectSoftDeleted(RegistryError):
    status, code = 404, 40404

    def __init__(self, subject: str) -> None:
        super().__init__(f"Subject '{subject}' was soft deleted.Set permanent=true to delete permanently")


class SubjectNotSoftDeleted(RegistryError):
    status, code = 404, 40405

    def __init__(self, subject: str) -> None:
        super().__init__(f"Subject '{subject}' was not deleted first before being permanently deleted")


class VersionSoftDeleted(RegistryError):
    status, code = 404, 40406

    def __init__(self, subject: str, version: int) -> None:
        super().__init__(
            f"Subject '{subject}' Version {version} was soft deleted.Set permanent=true to delete permanently"
        )


class VersionNotSoftDeleted(RegistryError):
    status, code = 404, 40407

    def __init__(self, subject: str, version: int) -> None:
        super().__init__(f"Subject '{subject}' Version {version} was not deleted first before being permanently deleted")


class SubjectConfigNotFound(RegistryError):
    status, code = 404, 40408

    def __init__(self, subject: str) -> None:
        super().__init__(f"Subject '{subject}' does not have subject-level compatibility configured")


class SubjectModeNotFound(RegistryError):
    status, code = 404, 40409

    def __init__(self, subject: str) -> None:
        super().__init__(f"Subject '{subject}' does not have subject-level mode configured")


class IncompatibleSchema(RegistryError):
    status, code = 409, 40901

    def __init__(self, subject: str, messages: list[str]) -> None:
        details = ", ".join(messages)
        super().__init__(
            f'Schema being registered is incompatible with an earlier schema for subject "{subject}", details: [{details}]'
        )
        self.messages = messages


class InvalidSchema(RegistryError):
    status, code = 422, 42201


class InvalidVersion(RegistryError):
    status, code = 422, 42202

    def __init__(self, version: str) -> None:
        super().__init__(
            f"The specified version '{version}' is not a valid version id. "
            'Allowed values are between [1, 2^31-1] and the string "latest"'
        )


class InvalidCompatibilityLevel(RegistryError):
    status, code = 422, 42203

    def __init__(self) -> None:
        super().__init__(
            "Invalid compatibility level. Valid values are none, backward, forward, full, "
            "backward_transitive, forward_transitive, and full_transitive"
        )


class InvalidMode(RegistryError):
    status, code = 422, 42204

    def __init__(self) -> None:
        super().__init__("Invalid mode. Valid values are READWRITE, READONLY, IMPORT and FORWARD.")


class OperationNotPermitted(RegistryError):
    status, code = 422, 42205


class ReferenceExists(RegistryError):
    status, code = 422, 42206

    def __init__(self, subject: str, version: int) -> None:
        super().__init__(
            f"One or more references exist to the schema {{magic=1,keytype=SCHEMA,subject={subject},version={version}}}."
        )


class InvalidSubject(RegistryError):
    status, code = 422, 42208

    def __init__(self, subject: str) -> None:
        super().__init__(f"The specified subject '{subject}' is not a valid.")


class SchemaTooLarge(RegistryError):
    status, code = 422, 42209


class InvalidRuleSet(RegistryError):
    status, code = 422, 42210


class ContextNotEmpty(RegistryError):
    status, code = 422, 42211

    def __init__(self, context: str) -> None:
        super().__init__(f"Context '{context}' is not empty")


class StoreError(RegistryError):
    status, code = 500, 50001


class StoreTimeout(RegistryError):
    status, code = 500, 50002


class ForwardingFailed(RegistryError):
    status, code = 500, 50003


class LeaderNotKnown(RegistryError):
    status, code = 500, 50004

    def __init__(self) -> None:
        super().__init__("Leader not known.")


class LeadershipLost(LeaderNotKnown):
    """This instance stopped leading between admitting a write and writing it; nothing was written,
    so the HTTP layer passes the request on to the new leader."""

    def __init__(self, message: str = "Leadership changed while the request was being handled; retry") -> None:
        RegistryError.__init__(self, message)
