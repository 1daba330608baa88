"""The producer: :class:`Producer`, what it resolves to (:class:`RecordMetadata`), its options
and partitioners."""

from kafkaio.producer.metadata import RecordMetadata
from kafkaio.producer.options import ProducerOptions
from kafkaio.producer.partitioner import (
    BuiltInPartitioner,
    RoundRobinPartitioner,
    murmur2,
    partition_for_key,
)
from kafkaio.producer.producer import Producer
from kafkaio.producer.transactions import (
    ConsumerGroupMetadata,
    TransactionAbortedError,
    TransactionState,
)

__all__ = [
    "BuiltInPartitioner",
    "ConsumerGroupMetadata",
    "Producer",
    "ProducerOptions",
    "RecordMetadata",
    "RoundRobinPartitioner",
    "TransactionAbortedError",
    "TransactionState",
    "murmur2",
    "partition_for_key",
]
