"""The hand-written part of kafkaio's error hierarchy.

Categories say what the caller should do; a concrete error may belong to several:

* :class:`RetriableError`: the same operation may succeed if retried (after a back-off).
* :class:`RefreshRetriableError`: retriable once the client has refreshed what it knows
  (cluster metadata, or the group/transaction coordinator).
* :class:`InvalidMetadataError`: the client's metadata is stale (a leader moved, a topic or
  broker is unknown); refresh metadata, then retry.
* :class:`TransactionAbortRequiredError`: the current transaction cannot commit; abort it,
  then the producer can start a new one.
* :class:`FatalError`: the producer or consumer instance cannot continue; close it.
* :class:`AuthenticationError` / :class:`AuthorizationError`: security failures; retrying
  without changing credentials or ACLs will not help.
* :class:`InvalidOffsetError`: the consumer's position is invalid; apply the reset policy or seek.

Per-code classes (one per Apache Kafka error code) are generated into ``_codes.py`` and derive
from :class:`BrokerResponseError` plus the categories above. The client-side errors below are
raised by kafkaio itself, never sent by a broker.
"""

from __future__ import annotations

from typing import Any, ClassVar

# ---------------------------------------------------------------------------------------------
# Root and categories
# ---------------------------------------------------------------------------------------------


class KafkaError(Exception):
    """Base class of every error kafkaio raises.

    The boolean flags mirror the category classes, for callers that prefer attributes to
    ``isinstance`` checks.
    """

    retriable: bool = False
    """Retrying the same operation may succeed."""
    invalid_metadata: bool = False
    """The client should refresh its cluster metadata before retrying."""
    txn_requires_abort: bool = False
    """The current transaction must be aborted."""
    fatal: bool = False
    """The client instance (producer or consumer) cannot be used any more."""


class RetriableError(KafkaError):
    """A transient failure: the same operation may succeed when retried after a back-off."""

    retriable = True


class RefreshRetriableError(RetriableError):
    """Retriable after the client refreshes its metadata or looks up the coordinator again."""


class InvalidMetadataError(RefreshRetriableError):
    """The client's cluster metadata is stale: refresh it, then retry."""

    invalid_metadata = True


class TransactionAbortRequiredError(KafkaError):
    """The ongoing transaction cannot be committed: abort it; the producer stays usable.

    The transactional producer also treats some other errors as abortable depending on which
    request returned them; this category marks the codes whose meaning is always "abort".
    """

    txn_requires_abort = True


class FatalError(KafkaError):
    """The producer or consumer instance cannot continue (for example it has been fenced by a
    newer instance): close it; a new instance may be created."""

    fatal = True


class AuthenticationError(KafkaError):
    """Authentication with the broker failed (SASL mechanism, credentials, SASL state)."""


class AuthorizationError(KafkaError):
    """The principal lacks an ACL needed for the operation (topic, group, cluster, ...)."""


class InvalidOffsetError(KafkaError):
    """The consumer's position is not valid: apply the offset reset policy or seek."""


# ---------------------------------------------------------------------------------------------
# Broker error codes
# ---------------------------------------------------------------------------------------------


class BrokerResponseError(KafkaError):
    """An error code returned by a broker; one generated subclass per Kafka error code.

    Class attributes: ``errno`` (the Kafka error code), ``code_name`` (Kafka's name for it,
    e.g. ``"NOT_LEADER_OR_FOLLOWER"``) and ``message`` (Kafka's default message). The optional
    ``description`` is the broker's per-response ``error_message`` or kafkaio's own context.
    """

    errno: ClassVar[int]
    code_name: ClassVar[str]
    message: ClassVar[str]

    def __init__(self, description: str | None = None) -> None:
        if not hasattr(type(self), "errno"):
            raise TypeError(
                f"{type(self).__name__} has no error code; use kafkaio.errors.for_code(code)"
            )
        if description is not None and not isinstance(description, str):
            raise TypeError(f"description must be a str or None, not {description!r}")
        # args are exactly the constructor's arguments, so pickling rebuilds the same error.
        super().__init__(*(() if description is None else (description,)))
        self.description = description

    def __str__(self) -> str:
        text = self.description if self.description else self.message
        return f"[Error {self.errno}] {type(self).__name__}: {text}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description!r})"


class UnknownBrokerError(BrokerResponseError):
    """An error code that the Apache Kafka release kafkaio was generated from does not define.

    :func:`kafkaio.errors.for_code` returns a subclass of this class per unknown code, so the
    code survives in ``errno``; ``except UnknownBrokerError`` catches all of them.
    """

    code_name = "UNKNOWN"
    message = "An error code this version of kafkaio does not know."

    def __reduce__(self) -> tuple[Any, ...]:
        # The per-code subclasses are created at run time and cannot be found by name.
        return (_rebuild_unknown, (self.errno, self.description))


_unknown_classes: dict[int, type[UnknownBrokerError]] = {}


def unknown_error_class(code: int) -> type[UnknownBrokerError]:
    """The (cached) :class:`UnknownBrokerError` subclass carrying ``errno = code``."""
    cls = _unknown_classes.get(code)
    if cls is None:
        namespace = {
            "errno": code,
            "__module__": __name__,
            "__qualname__": UnknownBrokerError.__qualname__,
            "__doc__": f"Error code {code}, unknown to kafkaio.",
        }
        created = type(UnknownBrokerError.__name__, (UnknownBrokerError,), namespace)
        cls = _unknown_classes.setdefault(code, created)
    return cls


def _rebuild_unknown(code: int, description: str | None) -> UnknownBrokerError:
    return unknown_error_class(code)(description)


# ---------------------------------------------------------------------------------------------
# Client-side errors (raised by kafkaio, not sent by a broker)
# ---------------------------------------------------------------------------------------------


class KafkaConnectionError(RetriableError):
    """A connection to a broker could not be opened, or broke (bootstrap failed, socket closed).

    Requests that were in flight on a broken connection are in an unknown state.
    """


class SslError(AuthenticationError):
    """The TLS handshake with a broker failed: untrusted certificate, hostname mismatch,
    rejected client certificate, protocol mismatch. The message names the cause.

    Not retriable (unlike :class:`KafkaConnectionError`): retrying with the same TLS
    settings fails the same way.
    """


class NodeNotReadyError(RetriableError):
    """A request was addressed to a broker that has no usable connection yet."""


class StaleMetadataError(InvalidMetadataError):
    """The client's metadata does not know the broker, topic or partition it needs."""


class KafkaTimeoutError(RetriableError):
    """An operation did not complete in time (client-side timeout).

    Not a subclass of the builtin :class:`TimeoutError`, on purpose: asyncio's own timeouts
    stay distinguishable from Kafka's, and ``errno`` keeps meaning the Kafka error code for
    :class:`~kafkaio.errors.RequestTimedOutError`, the broker's code 7, which derives from
    this class so that ``except KafkaTimeoutError`` catches both kinds of timeout.
    """


class UnrecognizedBrokerVersionError(KafkaError):
    """The broker's release could not be determined from its API versions."""


class IncompatibleBrokerVersionError(KafkaError):
    """The broker does not support a feature or API version the operation needs."""


class ConfigurationError(KafkaError, ValueError):
    """A configuration value is invalid (the message names the option and the value)."""


class ProtocolDecodeError(KafkaError):
    """Bytes from the network could not be decoded (truncated, oversized or garbage)."""


class CorruptRecordError(ProtocolDecodeError):
    """A fetched record batch is corrupt (CRC mismatch, bad framing, undecodable compression).

    Deliberately not a subclass of :class:`~kafkaio.errors.CorruptMessageError` (code 2): the
    broker's code is retriable (the broker rejected what the producer sent, sending again may
    work), while a corrupt batch in the log is returned again on every fetch; the consumer
    must surface it (the application may seek past it).
    """

    def __init__(
        self,
        message: str,
        *,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = message
        self.topic = topic
        self.partition = partition
        self.offset = offset

    def __str__(self) -> str:
        where = []
        if self.topic is not None:
            where.append(f"topic {self.topic!r}")
        if self.partition is not None:
            where.append(f"partition {self.partition}")
        if self.offset is not None:
            where.append(f"offset {self.offset}")
        if not where:
            return self.reason
        return f"{self.reason} ({', '.join(where)})"


class NoOffsetForPartitionError(InvalidOffsetError):
    """The consumer has no committed offset for a partition and no reset policy applies
    (``auto_offset_reset="none"``)."""


class IllegalStateError(KafkaError):
    """The operation is not allowed in the object's current state (for example committing a
    transaction that was never begun)."""


class ProducerClosedError(IllegalStateError):
    """The producer is closed (or closing) and accepts no more records."""


class TransactionAbortedError(KafkaError):
    """The record was not sent: its transaction was aborted (or must be) before it left."""


class RecordDeserializationError(KafkaError):
    """A consumer's key or value deserializer failed; names the record (``seek`` past it to
    go on)."""

    def __init__(self, topic: str, partition: int, offset: int, part: str, cause: Any) -> None:
        super().__init__(
            f"failed to deserialize the {part} of the record at offset {offset} of"
            f" {topic}-{partition}: {cause!r}"
        )
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.part = part
