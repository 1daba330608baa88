"""kafkaio's exceptions.

Provisional seed of the module: the errors helper replaces this with the generated
per-code classes and the full hierarchy, keeping every name defined here.
"""

from __future__ import annotations


class KafkaError(Exception):
    """Base class of every error kafkaio raises."""

    retriable: bool = False


class ProtocolDecodeError(KafkaError):
    """Bytes from the network could not be decoded (truncated, oversized or garbage)."""


class UnsupportedVersionError(KafkaError):
    """A request or field cannot be expressed at the negotiated API version (code 35)."""

    errno = 35


__all__ = ["KafkaError", "ProtocolDecodeError", "UnsupportedVersionError"]
