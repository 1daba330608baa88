"""A real Apache Kafka cluster on loopback for tests, demos and users' own test suites.

    from kafkaio.testing import KafkaCluster

    with KafkaCluster(nodes=3) as cluster:
        cluster.create_topic("events", partitions=6, replication_factor=3)
        ...  # connect clients to cluster.bootstrap_servers
        cluster.kill_node(2)
        cluster.wait_for_brokers(2)
        cluster.start_node(2)

The jars of the pinned release (``kafkaio._pin``) are fetched once with Maven (or from
Apache's release tarball) into ``~/.cache/kafkaio`` (``KAFKAIO_CACHE_DIR`` overrides).
The pytest plugin (:mod:`kafkaio.testing.pytest_plugin`) provides session fixtures; the
command line ``python -m kafkaio.testing start|status|stop`` runs a cluster by hand.
"""

from kafkaio.testing._cluster import (
    ExternalKafkaCluster,
    KafkaCluster,
    KafkaClusterBase,
    KafkaNode,
    Listener,
    PropertyValue,
    free_ports,
)
from kafkaio.testing._errors import (
    KafkaHarnessError,
    KafkaResolveError,
    KafkaStartError,
    KafkaToolError,
    ProbeError,
)
from kafkaio.testing._probe import BrokerInfo, ClusterMetadata, PartitionInfo, TopicInfo
from kafkaio.testing._resolve import KafkaDistribution, cache_root, find_java, resolve_kafka
from kafkaio.testing._state import stop_from_state

__all__ = [
    "BrokerInfo",
    "ClusterMetadata",
    "ExternalKafkaCluster",
    "KafkaCluster",
    "KafkaClusterBase",
    "KafkaDistribution",
    "KafkaHarnessError",
    "KafkaNode",
    "KafkaResolveError",
    "KafkaStartError",
    "KafkaToolError",
    "Listener",
    "PartitionInfo",
    "ProbeError",
    "PropertyValue",
    "TopicInfo",
    "cache_root",
    "find_java",
    "free_ports",
    "resolve_kafka",
    "stop_from_state",
]
