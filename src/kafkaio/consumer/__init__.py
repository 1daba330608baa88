"""The consumer: :class:`Consumer`, the records it returns, group assignors and listener."""

from kafkaio.cluster import TopicPartition
from kafkaio.consumer.consumer import Consumer
from kafkaio.consumer.group import (
    ASSIGNORS,
    ConsumerRebalanceListener,
    CooperativeStickyAssignor,
    MemberSubscription,
    PartitionAssignor,
    RangeAssignor,
    RebalanceProtocol,
    RoundRobinAssignor,
    StickyAssignor,
)
from kafkaio.consumer.options import ConsumerOptions
from kafkaio.consumer.record import (
    ConsumerRecord,
    OffsetAndMetadata,
    OffsetAndTimestamp,
    RecordDeserializationError,
)

__all__ = [
    "ASSIGNORS",
    "Consumer",
    "ConsumerOptions",
    "ConsumerRebalanceListener",
    "ConsumerRecord",
    "CooperativeStickyAssignor",
    "MemberSubscription",
    "OffsetAndMetadata",
    "OffsetAndTimestamp",
    "PartitionAssignor",
    "RangeAssignor",
    "RebalanceProtocol",
    "RecordDeserializationError",
    "RoundRobinAssignor",
    "StickyAssignor",
    "TopicPartition",
]
