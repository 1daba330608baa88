"""The cluster client: bootstrap, background metadata sync, pooled connections, routing.

Public surface: :class:`ClusterClient` (aiokafka calls it ``AIOKafkaClient``), its
:class:`ClusterOptions`, the metadata view :class:`ClusterMetadata` and its records,
:class:`ConnectionGroup` and :class:`CoordinationType`.
"""

from kafkaio.cluster.client import ClusterClient
from kafkaio.cluster.coordinators import CoordinationType
from kafkaio.cluster.metadata import (
    BrokerMetadata,
    ClusterMetadata,
    MetadataUpdate,
    PartitionMetadata,
    TopicMetadata,
    TopicPartition,
)
from kafkaio.cluster.options import ClusterOptions, parse_bootstrap_servers
from kafkaio.cluster.pool import ConnectionGroup

__all__ = [
    "BrokerMetadata",
    "ClusterClient",
    "ClusterMetadata",
    "ClusterOptions",
    "ConnectionGroup",
    "CoordinationType",
    "MetadataUpdate",
    "PartitionMetadata",
    "TopicMetadata",
    "TopicPartition",
    "parse_bootstrap_servers",
]
