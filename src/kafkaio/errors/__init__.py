"""kafkaio's exceptions.

Every error derives from :class:`KafkaError`. Errors a broker returns as an error code are
:class:`BrokerResponseError` subclasses, one per code of the pinned Apache Kafka release
(generated into ``_codes.py``, named after Kafka's code: ``NOT_LEADER_OR_FOLLOWER`` ->
:class:`NotLeaderOrFollowerError`); :func:`for_code` and :func:`raise_for_code` map codes to
them. Category classes tell the caller what to do (see :mod:`kafkaio.errors._base`):
:class:`RetriableError`, :class:`RefreshRetriableError`, :class:`InvalidMetadataError`,
:class:`TransactionAbortRequiredError`, :class:`FatalError`, :class:`AuthenticationError`,
:class:`AuthorizationError`, :class:`InvalidOffsetError`. The remaining classes are raised by
kafkaio itself (connections, timeouts, decoding, configuration, client state).
"""

from __future__ import annotations

from kafkaio.errors import _codes
from kafkaio.errors._base import (
    AuthenticationError,
    AuthorizationError,
    BrokerResponseError,
    ConfigurationError,
    CorruptRecordError,
    FatalError,
    IllegalStateError,
    IncompatibleBrokerVersionError,
    InvalidMetadataError,
    InvalidOffsetError,
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    NodeNotReadyError,
    NoOffsetForPartitionError,
    ProducerClosedError,
    ProtocolDecodeError,
    RecordDeserializationError,
    RefreshRetriableError,
    RetriableError,
    SslError,
    StaleMetadataError,
    TransactionAbortedError,
    TransactionAbortRequiredError,
    UnknownBrokerError,
    UnrecognizedBrokerVersionError,
)
from kafkaio.errors._codes import *  # noqa: F403  (one class per Kafka error code)
from kafkaio.errors._codes import MessageTooLargeError
from kafkaio.errors._lookup import BROKER_ERRORS, for_code, raise_for_code

RecordTooLargeError = MessageTooLargeError
"""Kafka's Java name for code 10 (``MESSAGE_TOO_LARGE``); the same class."""

__all__ = [
    "BROKER_ERRORS",
    "AuthenticationError",
    "AuthorizationError",
    "BrokerResponseError",
    "ConfigurationError",
    "CorruptRecordError",
    "FatalError",
    "IllegalStateError",
    "IncompatibleBrokerVersionError",
    "InvalidMetadataError",
    "InvalidOffsetError",
    "KafkaConnectionError",
    "KafkaError",
    "KafkaTimeoutError",
    "NoOffsetForPartitionError",
    "NodeNotReadyError",
    "ProducerClosedError",
    "ProtocolDecodeError",
    "RecordDeserializationError",
    "RecordTooLargeError",
    "RefreshRetriableError",
    "RetriableError",
    "SslError",
    "StaleMetadataError",
    "TransactionAbortRequiredError",
    "TransactionAbortedError",
    "UnknownBrokerError",
    "UnrecognizedBrokerVersionError",
    "for_code",
    "raise_for_code",
]
__all__ += _codes.__all__
