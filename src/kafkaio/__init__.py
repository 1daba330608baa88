"""kafkaio: an asyncio-native, typed Apache Kafka client.

The public classes load on first use so that ``import kafkaio`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0.dev0"

if TYPE_CHECKING:
    from kafkaio.admin import (
        Admin,
        AlterConfigOp,
        ConfigResource,
        NewPartitions,
        NewTopic,
        OffsetSpec,
        ResultMap,
    )
    from kafkaio.cluster import ClusterClient, TopicPartition
    from kafkaio.consumer import (
        Consumer,
        ConsumerRebalanceListener,
        ConsumerRecord,
        OffsetAndTimestamp,
        RecordDeserializationError,
    )
    from kafkaio.producer import Producer, RecordMetadata
    from kafkaio.structs import OffsetAndMetadata

_ADMIN_NAMES = (
    "Admin",
    "AlterConfigOp",
    "ConfigResource",
    "Consumer",
    "ConsumerRebalanceListener",
    "ConsumerRecord",
    "NewPartitions",
    "NewTopic",
    "OffsetSpec",
    "ResultMap",
)
_CONSUMER_NAMES = (
    "Consumer",
    "ConsumerRebalanceListener",
    "ConsumerRecord",
    "OffsetAndTimestamp",
    "RecordDeserializationError",
)

_EXPORTS = {
    **dict.fromkeys(_ADMIN_NAMES, "kafkaio.admin"),
    **dict.fromkeys(_CONSUMER_NAMES, "kafkaio.consumer"),
    "OffsetAndMetadata": "kafkaio.structs",
    "ClusterClient": "kafkaio.cluster",
    "Producer": "kafkaio.producer",
    "RecordMetadata": "kafkaio.producer",
    "TopicPartition": "kafkaio.cluster",
}

__all__ = [
    "Admin",
    "AlterConfigOp",
    "ClusterClient",
    "ConfigResource",
    "Consumer",
    "ConsumerRebalanceListener",
    "ConsumerRecord",
    "NewPartitions",
    "NewTopic",
    "OffsetAndMetadata",
    "OffsetAndTimestamp",
    "OffsetSpec",
    "Producer",
    "RecordDeserializationError",
    "RecordMetadata",
    "ResultMap",
    "TopicPartition",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kafkaio' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
