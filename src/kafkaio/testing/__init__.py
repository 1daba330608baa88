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
:class:`SecurityConfig` and :func:`make_tls_material` start brokers with SSL, mutual TLS,
SASL_PLAINTEXT and SASL_SSL listeners (SCRAM users via :func:`create_scram_user`,
OAUTHBEARER tokens via :func:`unsecured_jwt`).
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
from kafkaio.testing._security import (
    SecurityConfig,
    TlsMaterial,
    create_scram_user,
    make_tls_material,
    unsecured_jwt,
)
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
    "SecurityConfig",
    "TlsMaterial",
    "TopicInfo",
    "cache_root",
    "create_scram_user",
    "find_java",
    "free_ports",
    "make_tls_material",
    "resolve_kafka",
    "stop_from_state",
    "unsecured_jwt",
]
