"""Errors raised by the Schema Registry client and the serializers.

:class:`SchemaRegistryError` is an HTTP failure answered by the registry; it carries the HTTP
status, the registry's own ``error_code`` (for example ``40401`` "subject not found") and its
message. The subclasses below are picked by ``error_code`` so callers can catch what they mean.
:class:`SerializationError` is a record that cannot be encoded or decoded.
"""

from __future__ import annotations

from typing import ClassVar

from kafkaio.errors import KafkaError

__all__ = [
    "IncompatibleSchemaError",
    "InvalidCompatibilityLevelError",
    "InvalidSchemaError",
    "InvalidVersionError",
    "SchemaNotCachedError",
    "SchemaNotFoundError",
    "SchemaRegistryConnectionError",
    "SchemaRegistryError",
    "SerializationError",
    "SubjectNotFoundError",
    "VersionNotFoundError",
    "error_for",
]


class SchemaRegistryError(KafkaError):
    """The registry answered a request with an error.

    ``status`` is the HTTP status, ``error_code`` the registry's code (Confluent's codes:
    ``40401`` subject not found, ``40402`` version not found, ``40403`` schema not found,
    ``409`` incompatible, ``42201`` invalid schema, ...; ``-1`` when the body had none) and
    ``message`` its text.
    """

    codes: ClassVar[tuple[int, ...]] = ()

    def __init__(self, status: int, error_code: int, message: str) -> None:
        super().__init__(f"schema registry error {error_code} (HTTP {status}): {message}")
        self.status = status
        self.error_code = error_code
        self.message = message


class SubjectNotFoundError(SchemaRegistryError):
    """The subject does not exist (or only soft-deleted versions remain)."""

    codes = (40401,)


class VersionNotFoundError(SchemaRegistryError):
    """The subject has no such version."""

    codes = (40402,)


class SchemaNotFoundError(SchemaRegistryError):
    """No schema with that id, or the schema is not registered under the subject."""

    codes = (40403,)


class IncompatibleSchemaError(SchemaRegistryError):
    """The schema breaks the subject's compatibility rule."""

    codes = (409,)


class InvalidSchemaError(SchemaRegistryError):
    """The registry could not parse the schema (or one of its references)."""

    codes = (42201,)


class InvalidVersionError(SchemaRegistryError):
    """The version is not a positive integer or ``latest``."""

    codes = (42202,)


class InvalidCompatibilityLevelError(SchemaRegistryError):
    """The compatibility level is not one the registry knows."""

    codes = (42203,)


_BY_CODE: dict[int, type[SchemaRegistryError]] = {
    code: cls
    for cls in (
        SubjectNotFoundError,
        VersionNotFoundError,
        SchemaNotFoundError,
        IncompatibleSchemaError,
        InvalidSchemaError,
        InvalidVersionError,
        InvalidCompatibilityLevelError,
    )
    for code in cls.codes
}


def error_for(status: int, error_code: int, message: str) -> SchemaRegistryError:
    """The most specific :class:`SchemaRegistryError` for a registry error answer."""
    cls = _BY_CODE.get(error_code)
    if cls is None and error_code == -1 and status == 409:
        cls = IncompatibleSchemaError
    return (cls or SchemaRegistryError)(status, error_code, message)


class SchemaRegistryConnectionError(KafkaError):
    """No configured registry URL could be reached (connection refused, TLS, timeout)."""

    retriable = True


class SerializationError(KafkaError):
    """A record could not be serialized or deserialized (wrong shape, bad framing, ...)."""


class SchemaNotCachedError(SerializationError):
    """A synchronous (bound) deserializer met a schema id it has not fetched yet.

    Await ``deserializer.deserialize(topic, data)`` (which fetches it) or
    ``deserializer.prefetch(...)`` first.
    """

    def __init__(self, schema_id: int) -> None:
        super().__init__(
            f"schema id {schema_id} is not cached; await the deserializer's "
            f"deserialize() or prefetch() to fetch it from the registry"
        )
        self.schema_id = schema_id
