"""Kafka wire protocol: primitives, headers and messages generated from Apache Kafka's specs.

No I/O happens here. Message classes live in :mod:`kafkaio.protocol.messages` (loaded on
first use); per-API facts (key, versions, routing) in :mod:`kafkaio.protocol.apis`.
"""

from kafkaio.protocol.api import (
    ApiInfo,
    FieldInfo,
    Message,
    ProtocolEncodeError,
    Request,
    Response,
    RoutingKind,
)

__all__ = [
    "ApiInfo",
    "FieldInfo",
    "Message",
    "ProtocolEncodeError",
    "Request",
    "Response",
    "RoutingKind",
]
