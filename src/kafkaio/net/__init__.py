"""One asyncio connection to one Kafka broker: framing, correlation, pipelining, versions.

See :class:`BrokerConnection`. Logging goes to the ``kafkaio.net`` logger.
"""

from kafkaio.net.connection import (
    Authenticator,
    BrokerConnection,
    CloseReason,
    ConnectionConfig,
    SecurityProtocol,
)
from kafkaio.net.releases import KNOWN_RELEASES, infer_release, release_caps
from kafkaio.net.versions import BrokerApiVersions, VersionRange, negotiate_version

__all__ = [
    "KNOWN_RELEASES",
    "Authenticator",
    "BrokerApiVersions",
    "BrokerConnection",
    "CloseReason",
    "ConnectionConfig",
    "SecurityProtocol",
    "VersionRange",
    "infer_release",
    "negotiate_version",
    "release_caps",
]
